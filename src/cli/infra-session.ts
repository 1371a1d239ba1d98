// What plan (live), apply and destroy share before they touch anything: load and check the
// spec, read its secrets, connect to Proxmox and run the preflight. Every failure ends here
// with a message that says what to fix, and never with a secret in it.

import type { Inventory } from "../inventory/types.ts";
import type { ProxmoxClient } from "../proxmox/index.ts";
import type { InfraRun } from "../steps/context.ts";
import type { ClusterLock, LockOptions } from "../steps/lock.ts";
import type { PreflightPurpose } from "../steps/preflight.ts";
import type { SecretRef, Spec } from "../spec/types.ts";
import { EXIT_ERROR } from "./command.ts";
import { loadReportedCluster } from "./load-cluster.ts";
import type { Output } from "./output.ts";

export interface InfraSession {
  file: string;
  inventory: Inventory;
  /** The run of the preflight: its facts are already read. */
  run: InfraRun;
  client: ProxmoxClient;
  /** A run with nothing read yet (after the lock was taken, the facts must be read again). */
  freshRun(): InfraRun;
  /**
   * Takes the cluster lock; undefined when held, else the exit code after the reason was
   * reported (another run holds it, or Proxmox refused).
   */
  lock(opts: LockOptions): Promise<number | undefined>;
  /** Releases the lock (if taken) and closes the connection. */
  close(): Promise<void>;
}

export interface SessionOptions {
  purpose: PreflightPurpose;
}

function describeRef(ref: SecretRef): string {
  if (typeof ref === "string") return "the inline proxmox.tokenSecret";
  return "env" in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;
}

/** A Proxmox failure said in terms of the spec: which field to change, which privilege to grant. Secrets are masked. */
export async function explainProxmoxError(err: unknown, spec: Spec, file: string): Promise<string> {
  const { redact } = await import("../ui/index.ts");
  return redact(await explanation(err, spec, file));
}

async function explanation(err: unknown, spec: Spec, file: string): Promise<string> {
  const proxmox = await import("../proxmox/index.ts");
  const { endpoint, tokenId, tokenSecret, tls } = spec.proxmox;
  if (err instanceof proxmox.AuthError) {
    return `Proxmox at ${endpoint} refused the API token ${tokenId} (401 authentication failed): check proxmox.tokenId in ${file} `
      + `and the secret in ${describeRef(tokenSecret)}; the token must exist on Proxmox and be neither expired nor disabled`;
  }
  if (err instanceof proxmox.TlsError) {
    const fix = tls.fingerprint !== undefined
      ? `if the certificate was replaced on purpose, put its SHA-256 fingerprint into proxmox.tls.fingerprint in ${file}`
      : `set proxmox.tls.fingerprint or proxmox.tls.ca in ${file}`;
    return `${err.message}\n${fix}`;
  }
  if (err instanceof proxmox.PermissionError) {
    const grant = err.aclPath !== undefined && err.privileges.length > 0
      ? `\ngrant it, e.g.: pveum acl modify ${err.aclPath} --tokens '${tokenId}' --roles <a role with ${err.privileges.join(" or ")}>` : "";
    return `${err.message}${grant}`;
  }
  if (err instanceof proxmox.TransientError) return `cannot reach Proxmox at ${endpoint}: ${err.message}; check proxmox.endpoint in ${file}`;
  return err instanceof Error ? err.message : String(err);
}

/** Opens a session or reports why not and returns the exit code. */
export async function openInfraSession(out: Output, file: string, opts: SessionOptions): Promise<InfraSession | number> {
  const { loaded, inventory } = await loadReportedCluster(out, file);
  if (inventory === undefined) return EXIT_ERROR;
  const { connectProxmox } = await import("../plan/connect.ts");
  const { createInfraRun } = await import("../steps/context.ts");
  const { preflight } = await import("../steps/preflight.ts");
  const { acquireLock, LockHeldError } = await import("../steps/lock.ts");
  const spec = inventory.spec;

  let access: Awaited<ReturnType<typeof connectProxmox>>;
  try {
    access = await connectProxmox(spec, loaded.dir);
  } catch (err) {
    out.error(err instanceof Error ? err.message : String(err));
    return EXIT_ERROR;
  }
  const { client, secrets } = access;
  let held: ClusterLock | undefined;
  const close = async () => {
    try {
      await held?.release();
    } finally {
      await client.close();
    }
  };
  const freshRun = () => createInfraRun({ inv: inventory, client, secrets });
  const lock = async (lockOptions: LockOptions): Promise<number | undefined> => {
    try {
      held = await acquireLock(client, spec.name, lockOptions);
    } catch (err) {
      out.error(err instanceof LockHeldError ? err.message : await explainProxmoxError(err, spec, file));
      return EXIT_ERROR;
    }
    const from = held.tookOverFrom;
    if (from !== undefined) out.message(`took over the lock of cluster ${spec.name} from ${from.user}@${from.host} (pid ${from.pid}, since ${from.since})`);
    return undefined;
  };
  const run = freshRun();
  try {
    const problems = await preflight(inventory, run.facts, opts.purpose);
    if (problems.length > 0) {
      for (const problem of problems) out.error(problem);
      out.message(`${file}: Proxmox at ${spec.proxmox.endpoint} does not fit the spec; nothing done`);
      await close();
      return EXIT_ERROR;
    }
  } catch (err) {
    out.error(await explainProxmoxError(err, spec, file));
    await close().catch(() => undefined);
    return EXIT_ERROR;
  }
  return { file, inventory, run, client, freshRun, lock, close };
}
