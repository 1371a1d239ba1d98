// destroy: the VMs that carry both `starbase` and `starbase-<cluster>` (whatever the spec says
// today, so hosts removed from the spec go too), then their seed ISOs. Images stay: they are
// shared by clusters and cheap to keep. Before the first VM is stopped every one is checked as
// Proxmox would check it (protection, lock) and for ownership, from its config: when any would
// refuse, nothing is touched.

import type { Inventory } from "../../inventory/types.ts";
import { apiPath, NotFoundError } from "../../proxmox/index.ts";
import { type ActContext, type Change, unchanged, type Observed } from "../observed.ts";
import type { InfraRun } from "./context.ts";
import { clusterTag, isClusterVm, MANAGED_TAG, tagsOf } from "./tags.ts";
import { configVolumes, describeUsers } from "./iso-users.ts";
import type { ClusterVm } from "./facts.ts";
import { imageNodes } from "./nodes.ts";
import { eachLimited } from "../parallel.ts";
import { legacySeedOwners, seedOwner, volumeFileName } from "./seed-image.ts";
import { claimedSeedIsos, type SeedClaim } from "./seed-isos.ts";
import { awaitTask } from "../../proxmox/task.ts";
import { configText, type VmConfig } from "./vm-diff.ts";
import { removeVolumes } from "./volumes.ts";

/** VMs of this cluster: tagged starbase and starbase-<cluster>. Nothing else is ever destroyed. */
export function clusterVms(run: InfraRun, vms: readonly ClusterVm[]): ClusterVm[] {
  return vms.filter((vm) => isClusterVm(vm, run.inv.spec.name));
}

/** Nodes whose seed storage may hold ISOs of this cluster: the spec's, and those its VMs (`clusterVms`) run on. */
export function seedNodes(inv: Inventory, vms: readonly ClusterVm[]): string[] {
  return [...new Set([...imageNodes(inv), ...vms.map((vm) => vm.node)])];
}

/** What the check before a destroy found. */
export interface DestroyCheck {
  /** The cluster's VMs as they are now: status from status/current, tags from the config. */
  vms: ClusterVm[];
  /** Why a VM cannot or must not be deleted, one line per VM; any of them stops the destroy. */
  refusals: string[];
  /** Volumes the cluster's VMs use: a legacy seed ISO name they use is theirs, however it reads. */
  used: Set<string>;
}

interface VmStatus {
  status?: string;
  lock?: string;
}

/**
 * Reads every VM of the cluster (config and status/current) and says which would refuse to go:
 * protection (Proxmox: "can't remove VM N - protection mode enabled", but it stops such a VM),
 * a lock held by a task (backup, migrate …), tags that no longer make it this cluster's.
 */
export async function checkDestroy(run: InfraRun): Promise<DestroyCheck> {
  const listed = clusterVms(run, (await run.facts.cluster()).vms);
  const cluster = run.inv.spec.name;
  const found = new Map<number, { vm: ClusterVm; refusal?: string }>();
  const used = new Set<string>();
  await eachLimited(listed, async (vm) => {
    let config: VmConfig;
    let status: VmStatus;
    try {
      config = await run.facts.vmConfig(vm);
      status = await run.client.get<VmStatus>(apiPath`/nodes/${vm.node}/qemu/${vm.vmid}/status/current`);
    } catch (err) {
      if (err instanceof NotFoundError) return; // gone since the listing: nothing to delete
      throw err;
    }
    const tags = tagsOf(config.tags);
    // The name from the config: /cluster/resources shows none for a VM created in the last 10 s.
    const name = configText(config.name) ?? vm.name;
    const subject = `VM ${name ?? "?"} (${vm.vmid}) on ${vm.node}`;
    const lock = status.lock || (config.lock === undefined ? "" : String(config.lock));
    let refusal: string | undefined;
    if (!isClusterVm({ tags }, cluster)) {
      refusal = `${subject}: no longer tagged ${MANAGED_TAG} and ${clusterTag(cluster)} (tags: ${tags.join(";") || "none"}); `
        + "it changed since it was listed: run destroy again";
    } else if (Number(config.protection ?? 0) === 1) {
      refusal = `${subject}: protection is on, and Proxmox refuses to delete a protected VM (it would be stopped, then left); `
        + `turn protection off if it is to go (Options → Protection, or qm set ${vm.vmid} --protection 0)`;
    } else if (lock !== "") {
      refusal = `${subject}: locked (${lock}) by a Proxmox task; wait for that task to end (qm unlock ${vm.vmid} only if none runs)`;
    }
    for (const volid of configVolumes(config)) used.add(volid);
    found.set(vm.vmid, { vm: { ...vm, ...(name !== undefined && { name }), tags, status: status.status ?? vm.status }, ...(refusal !== undefined && { refusal }) });
  });
  const checked = listed.flatMap((vm) => found.get(vm.vmid) ?? []);
  return { vms: checked.map((c) => c.vm), refusals: checked.flatMap((c) => c.refusal ?? []), used };
}

/** `vm` as the check before the destroy saw it (status from status/current); a retry asks Proxmox again. */
export async function observeVmRemoval(run: InfraRun, vm: ClusterVm, fresh: boolean): Promise<Observed> {
  const subject = `VM ${vm.name ?? "?"} (${vm.vmid})`;
  let current: ClusterVm = vm;
  if (fresh) {
    try {
      const { status } = await run.client.get<VmStatus>(apiPath`/nodes/${vm.node}/qemu/${vm.vmid}/status/current`);
      current = { ...vm, status: status ?? "unknown" };
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      return { changes: [unchanged(subject, "not in Proxmox")] };
    }
  }
  const how = current.status === "running" ? "stop it, then delete it with its disks" : "delete it with its disks";
  return {
    changes: [{ op: "-", subject: `${subject} on ${current.node}`, reason: `tagged ${MANAGED_TAG} and ${clusterTag(run.inv.spec.name)}: ${how}` }],
    apply: (ctx) => removeVm(run, current, ctx),
  };
}

async function removeVm(run: InfraRun, vm: ClusterVm, ctx: ActContext): Promise<void> {
  const base = apiPath`/nodes/${vm.node}/qemu/${vm.vmid}`;
  try {
    // Proxmox refuses to delete a running VM. The status is status/current's, read under the lock
    // just before (or again on a retry, after a lost answer), so a stopped VM is not stopped twice.
    if (vm.status === "running") {
      const stop = await run.client.post<string>(`${base}/status/stop`);
      await awaitTask(run.client, ctx, `stopping VM ${vm.name ?? vm.vmid}`, stop);
    }
    const destroy = await run.client.delete<string>(base, { purge: true, "destroy-unreferenced-disks": true });
    await awaitTask(run.client, ctx, `deleting VM ${vm.name ?? vm.vmid}`, destroy);
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
  }
}

export interface SeedRemoval {
  /** Hosts of the spec and of the cluster's VMs: a legacy seed name must read as one of them. */
  hostNames: readonly string[];
  /** What checkDestroy found: the VMs that go, and the volumes they use. */
  check: DestroyCheck;
}

/**
 * Seed ISOs of this cluster on one node (or on the shared storage seen from it): every current
 * name of the cluster, and legacy names of its hosts that read no other way or that its VMs use.
 * One that a VM staying behind uses is kept.
 */
export async function observeSeedRemoval(run: InfraRun, node: string, { hostNames, check }: SeedRemoval, fresh: boolean): Promise<Observed> {
  const cluster = run.inv.spec.name;
  const claim = (volid: string): SeedClaim => {
    const fileName = volumeFileName(volid);
    if (seedOwner(fileName)?.cluster === cluster) return "own";
    const readings = legacySeedOwners(fileName);
    if (!readings.some((o) => o.cluster === cluster && hostNames.includes(o.host))) return undefined;
    return readings.length === 1 || check.used.has(volid) ? "own" : "ambiguous";
  };
  const { claimed, ambiguous } = await claimedSeedIsos(run, node, fresh, claim);
  const kept: Change[] = [...ambiguous];
  const going = new Set(check.vms.map((vm) => vm.vmid));
  const removals: string[] = [];
  for (const { volid, users } of claimed) {
    const staying = users.filter((vm) => !going.has(vm.vmid));
    if (staying.length > 0) kept.push(unchanged(`seed ISO ${volid} on ${node}`, `kept: ${describeUsers(staying)}`));
    else removals.push(volid);
  }
  const subject = `seed ISOs of ${cluster} on ${node}`;
  if (removals.length === 0) return { changes: [unchanged(subject, "none left"), ...kept] };
  return {
    changes: [...removals.map((volid) => ({ op: "-" as const, subject: `seed ISO ${volid} on ${node}`, reason: `seed of cluster ${cluster}` })), ...kept],
    apply: (ctx) => removeVolumes(run, removals.map((volid) => ({ node, volid })), ctx),
  };
}
