// From a loaded spec to a Proxmox client and the secrets the infra steps need.

import { isUsableTokenSecret, ProxmoxClient, type TlsTrust } from "../proxmox/index.ts";
import type { RenderSecrets } from "../render/index.ts";
import { readCaFile, SpecReferenceError } from "../spec/references.ts";
import type { Env } from "../spec/secrets.ts";
import type { Spec } from "../spec/types.ts";
import { readRenderSecrets, readSecret } from "./secrets.ts";

export interface ProxmoxAccess {
  client: ProxmoxClient;
  secrets: RenderSecrets;
}

export interface ConnectOptions {
  /** The command's environment, where { env: NAME } secrets are read. */
  env: Env;
  /** First task poll interval (benchmarks with short emulated tasks poll faster). */
  taskPollMs?: number;
}

function tlsTrust(tls: Spec["proxmox"]["tls"], dir: string): TlsTrust | undefined {
  if (tls.fingerprint !== undefined) return { fingerprint: tls.fingerprint };
  if (tls.ca !== undefined) return { caPem: readCaFile(tls.ca, dir) };
  if (tls.insecure === true) return { insecure: true };
  return undefined;
}

/**
 * Resolves the secrets and the CA and builds the client. Throws SpecReferenceError (the spec
 * field and what to do, never a value) for a secret or CA that cannot be used.
 */
export async function connectProxmox(spec: Spec, dir: string, opts: ConnectOptions): Promise<ProxmoxAccess> {
  const tokenSecret = readSecret(spec.proxmox.tokenSecret, dir, ["proxmox", "tokenSecret"], opts.env);
  if (!isUsableTokenSecret(tokenSecret)) {
    throw new SpecReferenceError(
      ["proxmox", "tokenSecret"],
      "the secret holds a space, line break, \";\", \"%\" or \"=\"; a Proxmox token secret is a UUID",
      "use the secret exactly as Proxmox showed it when the token was created (Datacenter → Permissions → API Tokens)",
    );
  }
  const secrets = readRenderSecrets(spec, dir, opts.env);
  const tls = tlsTrust(spec.proxmox.tls, dir);
  const client = new ProxmoxClient({
    endpoint: spec.proxmox.endpoint,
    tokenId: spec.proxmox.tokenId,
    tokenSecret,
    ...(tls !== undefined && { tls }),
    ...(opts.taskPollMs !== undefined && { taskPollMs: opts.taskPollMs }),
  });
  return { client, secrets };
}
