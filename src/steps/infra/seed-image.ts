// The NoCloud seed ISO of one host and its name on Proxmox. The name carries a hash of the
// ISO's bytes, so a changed user-data or network-config becomes a new file next to the old
// one, and the old one is removed only once the VM points at the new one.
//
// The name says whose ISO it is: starbase_<cluster>_<host>_<hash>.iso. Cluster and host names
// are DNS labels, which never hold "_", so the name splits one way only (pve-storage keeps "_"
// in uploaded names: normalize_content_filename allows [A-Za-z0-9_.-]). Earlier versions wrote
// starbase-<cluster>-<host>-<hash>.iso, where "home-lab" + "lb01" and "home" + "lab-lb01" give
// the same name; such "legacy" names count as a host's only when they can be read no other way.

import { createHash } from "node:crypto";
import type { Host, Inventory } from "../../inventory/types.ts";
import { buildSeedIso, renderHost, type RenderSecrets } from "../../render/index.ts";
import { isDnsLabel } from "../../spec/dns-label.ts";
import { type Change, unchanged } from "../observed.ts";

export interface SeedImage {
  fileName: string;
  /** <storage.cloudInit>:iso/<fileName> */
  volid: string;
  bytes: Uint8Array;
  sha256: string;
}

const SEED_VOLUME_LABEL = "cidata";
const HASH_IN_NAME = 12;
const SEED_NAME = /^starbase_([a-z0-9-]+)_([a-z0-9-]+)_[0-9a-f]{12}\.iso$/;
const LEGACY_SEED_NAME = /^starbase-([a-z0-9-]+)-[0-9a-f]{12}\.iso$/;

export interface SeedOwner {
  cluster: string;
  host: string;
}

/** The owner a seed ISO's name gives: exactly one for a current name, undefined for any other file. */
export function seedOwner(fileName: string): SeedOwner | undefined {
  const m = SEED_NAME.exec(fileName);
  return m === null ? undefined : { cluster: m[1]!, host: m[2]! };
}

/**
 * Every owner a legacy name starbase-<cluster>-<host>-<hash>.iso can be read as: one per "-"
 * in its middle part that leaves two DNS labels. More than one: the name alone cannot tell.
 */
export function legacySeedOwners(fileName: string): SeedOwner[] {
  const middle = LEGACY_SEED_NAME.exec(fileName)?.[1];
  if (middle === undefined) return [];
  const owners: SeedOwner[] = [];
  for (let i = middle.indexOf("-"); i >= 0; i = middle.indexOf("-", i + 1)) {
    const cluster = middle.slice(0, i);
    const host = middle.slice(i + 1);
    if (isDnsLabel(cluster) && isDnsLabel(host)) owners.push({ cluster, host });
  }
  return owners;
}

/** The "=" line of a legacy seed ISO that other clusters' hosts could have made too: starbase leaves it. */
export function keptLegacySeed(volid: string, node: string, cluster: string): Change {
  const others = legacySeedOwners(volumeFileName(volid)).filter((o) => o.cluster !== cluster).map((o) => `cluster ${o.cluster}, host ${o.host}`);
  return unchanged(`seed ISO ${volid} on ${node}`, `kept: its old-style name also reads as ${others.join(" or ")}, `
    + "and no VM of this cluster uses it; delete it in Proxmox if no cluster needs it");
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
  const fileName = `starbase_${inv.spec.name}_${host.name}_${sha256.slice(0, HASH_IN_NAME)}.iso`;
  return { fileName, volid: `${inv.spec.proxmox.storage.cloudInit}:iso/${fileName}`, bytes, sha256 };
}
