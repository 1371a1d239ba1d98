// The seed ISOs on one node's cloud-init storage that a step claims (stale ones of a host, all
// of a cluster being destroyed), each with the VMs whose configs name it, so that the step
// deletes only those no remaining VM uses; and the "=" lines of legacy names that could as well
// be another cluster's, which are left alone.

import type { Change } from "../observed.ts";
import type { InfraRun } from "./context.ts";
import { type IsoUser, isoUsers } from "./iso-users.ts";
import { keptLegacySeed } from "./seed-image.ts";

/** own: the step's to delete (if unused); ambiguous: a legacy name that may be another cluster's; undefined: not a seed it claims. */
export type SeedClaim = "own" | "ambiguous" | undefined;

export interface ClaimedSeedIso {
  volid: string;
  /** Every VM whose config names it, whoever's VM that is. */
  users: IsoUser[];
}

export async function claimedSeedIsos(run: InfraRun, node: string, fresh: boolean, claim: (volid: string) => SeedClaim): Promise<{ claimed: ClaimedSeedIso[]; ambiguous: Change[] }> {
  const storage = run.inv.spec.proxmox.storage.cloudInit;
  const owned: string[] = [];
  const ambiguous: Change[] = [];
  for (const v of await run.facts.volumes(node, storage, fresh)) {
    if (v.content !== "iso") continue;
    const whose = claim(v.volid);
    if (whose === "own") owned.push(v.volid);
    if (whose === "ambiguous") ambiguous.push(keptLegacySeed(v.volid, node, run.inv.spec.name));
  }
  // The configs of the VMs that could use them are read only when there is something to delete.
  const users = owned.length === 0 ? new Map<string, IsoUser[]>() : await isoUsers(run, node, storage, fresh);
  return { claimed: owned.map((volid) => ({ volid, users: users.get(volid) ?? [] })), ambiguous };
}
