// The NoCloud seed ISO of one host and its name on Proxmox. The name carries a hash of the
// ISO's bytes, so a changed user-data or network-config becomes a new file next to the old
// one, and the old one is removed only once the VM points at the new one.

import { createHash } from "node:crypto";
import type { Host, Inventory } from "../inventory/types.ts";
import { buildSeedIso, renderHost, type RenderSecrets } from "../render/index.ts";

export interface SeedImage {
  fileName: string;
  /** <storage.cloudInit>:iso/<fileName> */
  volid: string;
  bytes: Uint8Array;
  sha256: string;
}

const SEED_VOLUME_LABEL = "cidata";
const HASH_IN_NAME = 12;

function seedPrefix(cluster: string, host: string): string {
  return `starbase-${cluster}-${host}-`;
}

/** starbase-<cluster>-<host>-<12 hex>.iso of exactly this host (not of a host whose name merely starts the same). */
export function isSeedOf(fileName: string, cluster: string, host: string): boolean {
  const prefix = seedPrefix(cluster, host);
  return fileName.startsWith(prefix) && /^[0-9a-f]{12}\.iso$/.test(fileName.slice(prefix.length));
}

/** The file name part of a volume id: "local:iso/x.iso" → "x.iso". */
export function volumeFileName(volid: string): string {
  return volid.slice(volid.lastIndexOf("/") + 1);
}

export function buildSeedImage(inv: Inventory, host: Host, secrets: RenderSecrets): SeedImage {
  const files = renderHost(inv, host, secrets)
    .filter((file) => file.scope === "seed")
    .map((file) => ({ name: file.path, content: file.content }));
  const bytes = buildSeedIso(files, SEED_VOLUME_LABEL);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const fileName = `${seedPrefix(inv.spec.name, host.name)}${sha256.slice(0, HASH_IN_NAME)}.iso`;
  return { fileName, volid: `${inv.spec.proxmox.storage.cloudInit}:iso/${fileName}`, bytes, sha256 };
}
