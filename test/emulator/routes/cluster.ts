// Cluster-wide reads: version, nodes, cluster status and resources, next free VMID, a node's VMs.
import { hasPrivilege } from "../auth.ts";
import { paramError } from "../errors.ts";
import type { ContainerSpec } from "../options.ts";
import { storageAvailable, storageTotal, usedBytes } from "../storage-model.ts";
import { type RouteContext, integer, nodeName, text } from "./context.ts";
import { vmSummary } from "./vm-summary.ts";

const NODE_CPUS = 16;
const NODE_MEMORY = 64 * 2 ** 30;
const NODE_DISK = 100 * 2 ** 30;

export function version(context: RouteContext): Record<string, string> {
  const { name } = context.core.release;
  return { version: `${name}.1`, release: name, repoid: "emulated0000000" };
}

export function nodes(context: RouteContext): Record<string, unknown>[] {
  return context.core.state.nodes.map((node) => {
    const entry: Record<string, unknown> = {
      node: node.name,
      id: `node/${node.name}`,
      type: "node",
      status: node.online ? "online" : "offline",
      level: "",
      ssl_fingerprint: context.core.fingerprint,
    };
    if (node.online && hasPrivilege(context.identity, `/nodes/${node.name}`, "Sys.Audit")) {
      Object.assign(entry, { cpu: 0.01, maxcpu: NODE_CPUS, mem: 4 * 2 ** 30, maxmem: NODE_MEMORY, disk: 8 * 2 ** 30, maxdisk: NODE_DISK, uptime: 86_400 });
    }
    return entry;
  });
}

export function clusterStatus(context: RouteContext): Record<string, unknown>[] {
  const { nodes: members } = context.core.state;
  return [
    { type: "cluster", id: "cluster", name: "emulated", nodes: members.length, quorate: 1, version: members.length },
    ...members.map((node, index) => ({
      type: "node",
      id: `node/${node.name}`,
      name: node.name,
      nodeid: index + 1,
      ip: `127.0.0.${index + 1}`,
      online: node.online ? 1 : 0,
      local: index === 0 ? 1 : 0,
      level: "",
    })),
  ];
}

export function resources(context: RouteContext): Record<string, unknown>[] {
  const { state } = context.core;
  const type = text(context, "type");
  const result: Record<string, unknown>[] = [];
  if (type === undefined || type === "vm") {
    for (const vm of [...state.vms.values()].sort((a, b) => a.vmid - b.vmid)) {
      if (!hasPrivilege(context.identity, `/vms/${vm.vmid}`, "VM.Audit")) continue;
      // Node from the VM list, name/status/sizes from pvestatd's last sample, lock and tags from the config (samples.ts).
      const entry: Record<string, unknown> = { id: `qemu/${vm.vmid}`, vmid: vm.vmid, node: vm.node, type: "qemu", status: "unknown" };
      Object.assign(entry, context.core.samples.of(vm));
      if (vm.config.lock) entry.lock = vm.config.lock;
      if (vm.config.tags !== undefined) entry.tags = vm.config.tags;
      result.push(entry);
    }
    for (const ct of [...state.containers].sort((a, b) => a.vmid - b.vmid)) {
      if (!hasPrivilege(context.identity, `/vms/${ct.vmid}`, "VM.Audit")) continue;
      result.push(containerResource(ct));
    }
  }
  if (type === undefined || type === "node") {
    // extract_node_stats: every node with its status; its figures only with Sys.Audit on it.
    for (const node of state.nodes) {
      const entry: Record<string, unknown> = { id: `node/${node.name}`, type: "node", node: node.name, status: node.online ? "online" : "offline", level: "" };
      if (hasPrivilege(context.identity, `/nodes/${node.name}`, "Sys.Audit")) {
        Object.assign(entry, { cpu: 0.01, maxcpu: NODE_CPUS, mem: 4 * 2 ** 30, maxmem: NODE_MEMORY, disk: 8 * 2 ** 30, maxdisk: NODE_DISK, uptime: node.online ? 86_400 : 0 });
      }
      result.push(entry);
    }
  }
  if (type === undefined || type === "storage") {
    for (const node of state.nodes) {
      // storage_check_enabled: a disabled storage, or one not enabled for the node, is not listed.
      for (const storage of state.storages.filter((candidate) => storageAvailable(candidate, node.name) && !candidate.disabled)) {
        // Storages are listed with Datastore.Audit only (AllocateSpace is not enough here).
        if (!hasPrivilege(context.identity, `/storage/${storage.id}`, "Datastore.Audit")) continue;
        result.push({
          id: `storage/${node.name}/${storage.id}`,
          type: "storage",
          storage: storage.id,
          node: node.name,
          status: node.online ? "available" : "unknown",
          content: [...storage.content].sort().join(","),
          plugintype: storage.type,
          shared: storage.shared ? 1 : 0,
          disk: usedBytes(state, node.name, storage),
          maxdisk: storageTotal(storage),
        });
      }
    }
  }
  return result;
}

/** An `lxc/<vmid>` entry as extract_vm_stats builds it (fixed statistics), with the guest's tags and lock. */
function containerResource(ct: ContainerSpec): Record<string, unknown> {
  const memory = 512 * 2 ** 20;
  return {
    id: `lxc/${ct.vmid}`,
    vmid: ct.vmid,
    node: ct.node,
    type: "lxc",
    name: ct.name,
    status: ct.running ? "running" : "stopped",
    template: 0,
    uptime: ct.running ? 3_600 : 0,
    maxcpu: 1,
    cpu: 0,
    maxmem: memory,
    mem: ct.running ? memory / 4 : 0,
    maxdisk: 8 * 2 ** 30,
    disk: 0,
    netin: 0,
    netout: 0,
    diskread: 0,
    diskwrite: 0,
    ...(ct.tags !== undefined && { tags: ct.tags }),
  };
}

export function nextId(context: RouteContext): string {
  const { state } = context.core;
  const requested = integer(context, "vmid");
  if (requested !== undefined) {
    // The vmlist holds VMs and containers; the text says "VM" for both.
    if (state.vmidInUse(requested)) throw paramError({ vmid: `VM ${requested} already exists` });
    return String(requested);
  }
  let candidate = 100;
  while (state.vmidInUse(candidate)) candidate++;
  return String(candidate);
}

export function nodeVms(context: RouteContext): Record<string, unknown>[] {
  const node = nodeName(context);
  return [...context.core.state.vms.values()]
    .filter((vm) => vm.node === node && hasPrivilege(context.identity, `/vms/${vm.vmid}`, "VM.Audit"))
    .sort((a, b) => a.vmid - b.vmid)
    .map((vm) => {
      const { qmpstatus: _qmp, agent: _agent, ha: _ha, ...summary } = vmSummary(vm);
      return summary;
    });
}
