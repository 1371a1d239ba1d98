// VMs of this cluster that the spec no longer names: a lowered count, a deleted host. They keep
// running and keep the cluster's tags, so plan and apply list them; until scale-in exists
// nothing removes them. A VM on a VMID the spec gives to another name is left to that host's
// vm step, which explains it as a rename.

import { unchanged, type Observed } from "./changes.ts";
import type { InfraRun } from "./context.ts";
import { clusterVms } from "./destroy.ts";

export async function observeNotInSpec(run: InfraRun, fresh: boolean): Promise<Observed> {
  const facts = fresh ? await run.facts.freshVms() : await run.facts.cluster();
  const names = new Set(run.inv.hosts.map((h) => h.name));
  const vmids = new Set(run.inv.hosts.map((h) => h.vmid));
  const left = clusterVms(run, facts.vms).filter((vm) => (vm.name === undefined || !names.has(vm.name)) && !vmids.has(vm.vmid));
  if (left.length === 0) return { changes: [unchanged(`VMs of cluster ${run.inv.spec.name} not in the spec`, "none")] };
  return {
    changes: left.map((vm) => ({
      op: "-",
      subject: `VM ${vm.name ?? "?"} (${vm.vmid}) on ${vm.node}`,
      reason: "not in the spec; scale-in removes it, which this version does not do yet: it stays running "
        + "(put the host back in the spec, or delete the VM in Proxmox)",
      informational: true,
    })),
  };
}
