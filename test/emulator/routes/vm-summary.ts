// The per-VM status object shared by status/current, the node's VM list and cluster resources.
import type { VmRecord } from "../state.ts";
import { parseSize } from "../storage-model.ts";
import { DRIVE_KEY_RE, agentEnabled, cpuCount, isCdrom, memoryBytes, parseDrive } from "../vm-config.ts";

/** Size of the first non-CD-ROM disk (maxdisk). */
function bootDiskBytes(config: Record<string, string>): number {
  const disk = Object.keys(config)
    .filter((key) => DRIVE_KEY_RE.test(key))
    .map((key) => parseDrive(config[key] ?? ""))
    .find((drive) => !isCdrom(drive));
  return disk ? (parseSize(disk.options.size ?? "0") ?? 0) : 0;
}

export function vmSummary(vm: VmRecord): Record<string, unknown> {
  const uptime = vm.running && vm.startedAt ? Math.floor((Date.now() - vm.startedAt) / 1000) : 0;
  const summary: Record<string, unknown> = {
    vmid: vm.vmid,
    status: vm.running ? "running" : "stopped",
    qmpstatus: vm.running ? "running" : "stopped",
    cpus: cpuCount(vm.config),
    maxmem: memoryBytes(vm.config),
    mem: vm.running ? Math.floor(memoryBytes(vm.config) / 4) : 0,
    maxdisk: bootDiskBytes(vm.config),
    disk: 0,
    cpu: 0,
    uptime,
    netin: 0,
    netout: 0,
    diskread: 0,
    diskwrite: 0,
    agent: agentEnabled(vm.config) ? 1 : 0,
    ha: { managed: 0 },
  };
  // qemu-server vmstatus: `$conf->{name} || "VM $vmid"` (a VM being created has no name yet).
  summary.name = vm.config.name || `VM ${vm.vmid}`;
  if (vm.config.tags) summary.tags = vm.config.tags;
  if (vm.config.lock) summary.lock = vm.config.lock;
  if (vm.config.template === "1") summary.template = 1;
  if (vm.running) summary.pid = vm.pid;
  return summary;
}
