// What plan (live), apply and destroy share before they touch anything: read the spec's secrets,
// connect to Proxmox, run the preflight, check the token's privileges and read the image's checksum. Every failure ends here with a message that says
// what to fix, and never with a secret in it.

import { errorMessage } from "../engine/index.ts";
import type { Inventory } from "../inventory/types.ts";
import { formatDiagnostic, toDiagnostic } from "../spec/diagnostics.ts";
import type { LoadedSpec } from "../spec/load.ts";
import { SpecReferenceError } from "../spec/references.ts";
import { createInfraRun, type InfraRun } from "../steps/infra/context.ts";
import { acquireLock, type ClusterLock, LockHeldError, type LockOptions } from "../steps/infra/pool-lock.ts";
import { isClusterVm } from "../steps/infra/desired.ts";
import { preflight, type PreflightPurpose } from "../steps/infra/preflight.ts";
import { missingPrivileges, neededPrivileges, privilegeProblems } from "../steps/infra/privileges.ts";
import { connectProxmox, type ProxmoxAccess } from "./connect.ts";
import { explainProxmoxError } from "./explain.ts";
import type { InfraSink } from "./walk.ts";

/** A spec that passed every check: where it was read from, and what it describes. */
export interface ValidCluster extends Pick<LoadedSpec, "file" | "positionOf"> {
  /** Secret files and the TLS CA are resolved relative to this directory. */
  dir: string;
  inventory: Inventory;
}

export interface InfraSession {
  inventory: Inventory;
  /** The run of the preflight: its facts are already read. */
  run: InfraRun;
  /** Takes the cluster lock; false when another run holds it or Proxmox refused (the reason went to the sink). */
  lock(opts: LockOptions): Promise<boolean>;
  /** Releases the lock (if taken) and closes the connection. */
  close(): Promise<void>;
}

/** Opens a session, or reports why not to the sink and returns undefined. */
export interface SessionOptions {
  /** Plan: a missing privilege that only acting needs is a note, not a reason to stop. */
  observeOnly?: boolean;
}

/** Why the run cannot start (errors) and what apply will lack (notes), from the token's privileges and the image's checksum. */
async function readiness(run: InfraRun, purpose: PreflightPurpose, observeOnly: boolean): Promise<{ errors: string[]; notes: string[] }> {
  const { inv, client } = run;
  // destroy also touches VMs of the cluster the spec no longer names.
  const vmids = purpose === "destroy"
    ? [...inv.hosts.map((h) => h.vmid), ...(await run.facts.cluster()).vms.filter((vm) => isClusterVm(vm, inv.spec.name)).map((vm) => vm.vmid)]
    : undefined;
  const missing = await missingPrivileges(client, neededPrivileges(inv, purpose, vmids));
  const stopping = observeOnly ? missing.filter((m) => m.rule.read === true) : missing;
  const notes = observeOnly
    ? privilegeProblems(missing.filter((m) => m.rule.read !== true), client.tokenId).map((p) => (p.startsWith("the API token") ? `apply will stop here: ${p}` : p))
    : [];
  if (stopping.length > 0) return { errors: privilegeProblems(stopping, client.tokenId), notes };
  // The image's checksum, read once for every node's image step: an unreachable checksumUrl is one error, before any step.
  if (purpose === "converge") {
    const unreadable = await run.image().then(() => undefined, (err: unknown) => errorMessage(err));
    if (unreadable !== undefined) return { errors: [unreadable], notes };
  }
  return { errors: [], notes };
}

export async function openInfraSession(
  cluster: ValidCluster,
  purpose: PreflightPurpose,
  sink: InfraSink,
  opts: SessionOptions = {},
): Promise<InfraSession | undefined> {
  const { file, inventory } = cluster;
  const spec = inventory.spec;
  let access: ProxmoxAccess;
  try {
    access = await connectProxmox(spec, cluster.dir);
  } catch (err) {
    // A secret or the CA: FILE:LINE:COL of the reference, and what to do.
    sink.error(err instanceof SpecReferenceError ? formatDiagnostic(toDiagnostic(cluster, err.issue)) : errorMessage(err));
    return undefined;
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
  const lock = async (lockOptions: LockOptions): Promise<boolean> => {
    try {
      held = await acquireLock(client, spec.name, lockOptions);
    } catch (err) {
      sink.error(err instanceof LockHeldError ? err.message : explainProxmoxError(err, spec, file));
      return false;
    }
    const from = held.tookOverFrom;
    if (from !== undefined) sink.message(`took over the lock of cluster ${spec.name} from ${from.user}@${from.host} (pid ${from.pid}, since ${from.since})`);
    return true;
  };
  const run = createInfraRun({ inv: inventory, client, secrets });
  try {
    const { problems, warnings } = await preflight(inventory, run.facts, purpose);
    for (const warning of warnings) sink.message(`warning: ${warning}`);
    if (problems.length > 0) {
      for (const problem of problems) sink.error(problem);
      sink.message(`${file}: Proxmox at ${spec.proxmox.endpoint} does not fit the spec; nothing done`);
      await close();
      return undefined;
    }
    const { errors, notes } = await readiness(run, purpose, opts.observeOnly === true);
    for (const note of notes) sink.message(note);
    if (errors.length > 0) {
      for (const error of errors) sink.error(error);
      sink.message(`${file}: nothing done`);
      await close();
      return undefined;
    }
  } catch (err) {
    sink.error(explainProxmoxError(err, spec, file));
    await close().catch(() => undefined);
    return undefined;
  }
  return { inventory, run, lock, close };
}
