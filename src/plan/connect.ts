// From a loaded spec to a Proxmox client and the secrets the infra steps need.

import { readFile } from "node:fs/promises";
import { ProxmoxClient, type TlsTrust } from "../proxmox/index.ts";
import type { RenderSecrets } from "../render/index.ts";
import { expandPath } from "../spec/secrets.ts";
import type { Spec } from "../spec/types.ts";
import { readRenderSecrets, readSecret } from "./secrets.ts";

export interface ProxmoxAccess {
  client: ProxmoxClient;
  secrets: RenderSecrets;
}

export interface ConnectOptions {
  /** First task poll interval (benchmarks with short emulated tasks poll faster). */
  taskPollMs?: number;
}

async function tlsTrust(tls: Spec["proxmox"]["tls"], dir: string): Promise<TlsTrust | undefined> {
  if (tls.fingerprint !== undefined) return { fingerprint: tls.fingerprint };
  if (tls.ca !== undefined) {
    const path = expandPath(tls.ca, dir);
    try {
      return { caPem: await readFile(path, "utf8") };
    } catch (err) {
      throw new Error(`proxmox.tls.ca: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  }
  if (tls.insecure === true) return { insecure: true };
  return undefined;
}

/** Resolves the secrets (SecretError names the field, never the value) and builds the client. */
export async function connectProxmox(spec: Spec, dir: string, opts: ConnectOptions = {}): Promise<ProxmoxAccess> {
  const tokenSecret = readSecret(spec.proxmox.tokenSecret, dir, "proxmox.tokenSecret");
  const secrets = readRenderSecrets(spec, dir);
  const tls = await tlsTrust(spec.proxmox.tls, dir);
  const client = new ProxmoxClient({
    endpoint: spec.proxmox.endpoint,
    tokenId: spec.proxmox.tokenId,
    tokenSecret,
    ...(tls !== undefined && { tls }),
    ...(opts.taskPollMs !== undefined && { taskPollMs: opts.taskPollMs }),
  });
  return { client, secrets };
}
