// destroy: the VMs that carry both `starbase` and `starbase-<cluster>` (whatever the spec says
// today, so hosts removed from the spec go too), then their seed ISOs. Images stay: they are
// shared by clusters and cheap to keep.

import type { Inventory } from "../inventory/types.ts";
import { apiPath, NotFoundError } from "../proxmox/index.ts";
import { type ActContext, unchanged, type Observed } from "./changes.ts";
import type { InfraRun } from "./context.ts";
import { clusterTag, isClusterVm, MANAGED_TAG } from "./desired.ts";
import type { ClusterVm } from "./observe.ts";
import { imageNodes } from "./nodes.ts";
import { isSeedOf, volumeFileName } from "./seed-image.ts";
import { awaitTask } from "./task.ts";
import { removeVolumes } from "./volumes.ts";

/** VMs of this cluster: tagged starbase and starbase-<cluster>. Nothing else is ever destroyed. */
export function clusterVms(run: InfraRun, vms: readonly ClusterVm[]): ClusterVm[] {
  return vms.filter((vm) => isClusterVm(vm, run.inv.spec.name));
}

/** Nodes whose seed storage may hold ISOs of this cluster: the spec's, and those its VMs (`clusterVms`) run on. */
export function seedNodes(inv: Inventory, vms: readonly ClusterVm[]): string[] {
  return [...new Set([...imageNodes(inv), ...vms.map((vm) => vm.node)])];
}

export async function observeVmRemoval(run: InfraRun, vmid: number, fresh: boolean): Promise<Observed> {
  const facts = fresh ? await run.facts.freshVms() : await run.facts.cluster();
  const vm = clusterVms(run, facts.vms).find((v) => v.vmid === vmid);
  const subject = `VM ${vm?.name ?? "?"} (${vmid})`;
  if (vm === undefined) return { changes: [unchanged(subject, "not in Proxmox")] };
  const how = vm.status === "running" ? "stop it, then delete it with its disks" : "delete it with its disks";
  return {
    changes: [{ op: "-", subject: `${subject} on ${vm.node}`, reason: `tagged ${MANAGED_TAG} and ${clusterTag(run.inv.spec.name)}: ${how}` }],
    apply: (ctx) => removeVm(run, vm, ctx),
  };
}

async function removeVm(run: InfraRun, vm: ClusterVm, ctx: ActContext): Promise<void> {
  const base = apiPath`/nodes/${vm.node}/qemu/${vm.vmid}`;
  try {
    // Proxmox refuses to delete a running VM. After a lost answer the next attempt observes again, and a stopped VM is not stopped twice.
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

/** Seed ISOs of this cluster on one node: of the hosts in the spec and of every VM being destroyed. */
export async function observeSeedRemoval(run: InfraRun, node: string, hostNames: readonly string[], fresh: boolean): Promise<Observed> {
  const storage = run.inv.spec.proxmox.storage.cloudInit;
  const volumes = await run.facts.volumes(node, storage, fresh);
  const seeds = volumes
    .filter((v) => v.content === "iso" && hostNames.some((host) => isSeedOf(volumeFileName(v.volid), run.inv.spec.name, host)))
    .map((v) => v.volid);
  const subject = `seed ISOs of ${run.inv.spec.name} on ${node}`;
  if (seeds.length === 0) return { changes: [unchanged(subject, "none left")] };
  return {
    changes: seeds.map((volid) => ({ op: "-", subject: `seed ISO ${volid} on ${node}`, reason: `seed of cluster ${run.inv.spec.name}` })),
    apply: (ctx) => removeVolumes(run, seeds.map((volid) => ({ node, volid })), ctx),
  };
}
