// VMs of this cluster that the spec no longer names: a lowered count, a deleted host. They keep
// running and keep the cluster's tags, so plan and apply list them; until scale-in exists
// nothing removes them. A VM on a VMID the spec gives to another name is left to that host's
// vm step, which explains it as a rename.

import { NotFoundError } from "../../proxmox/index.ts";
import { type StepFamily } from "../family.ts";
import { unchanged, type Observed } from "../observed.ts";
import type { InfraRun } from "./context.ts";
import { clusterVms } from "./destroy.ts";
import type { ClusterVm } from "./facts.ts";
import { configText } from "./vm-diff.ts";

export interface NamedVm {
  vm: ClusterVm;
  /** From the VM's config: /cluster/resources shows a sampled name, none for a VM created in the last 10 s. */
  name: string | undefined;
}

/** The cluster's VMs on VMIDs the spec does not give to any host, with their names as configured. */
export async function clusterVmsOffSpec(run: InfraRun, fresh: boolean): Promise<NamedVm[]> {
  const facts = fresh ? await run.facts.freshVms() : await run.facts.cluster();
  const vmids = new Set(run.inv.hosts.map((h) => h.vmid));
  const off = clusterVms(run, facts.vms).filter((vm) => !vmids.has(vm.vmid));
  const named = await Promise.all(off.map(async (vm): Promise<NamedVm | undefined> => {
    try {
      return { vm, name: configText((await run.facts.vmConfig(vm, fresh)).name) };
    } catch (err) {
      if (err instanceof NotFoundError) return undefined; // deleted since the listing
      throw err;
    }
  }));
  return named.filter((found): found is NamedVm => found !== undefined);
}

/** One step, "vms-not-in-spec": lists, acts on nothing. */
export const notInSpecFamily: StepFamily<InfraRun> = {
  kinds: ["vms-not-in-spec"],
  observableBeforeNeeds: true,
  observe: (run, _step, { fresh }) => observeNotInSpec(run, fresh),
};

export async function observeNotInSpec(run: InfraRun, fresh: boolean): Promise<Observed> {
  const names = new Set(run.inv.hosts.map((h) => h.name));
  const left = (await clusterVmsOffSpec(run, fresh)).filter(({ name }) => name === undefined || !names.has(name));
  if (left.length === 0) return { changes: [unchanged(`VMs of cluster ${run.inv.spec.name} not in the spec`, "none")] };
  return {
    changes: left.map(({ vm, name }) => ({
      op: "-",
      subject: `VM ${name ?? "?"} (${vm.vmid}) on ${vm.node}`,
      reason: "not in the spec; scale-in removes it, which this version does not do yet: it stays running "
        + "(put the host back in the spec, or delete the VM in Proxmox)",
      informational: true,
    })),
  };
}
