// pvestatd's view of the VMs. Every 10 s (pve-manager PVE/Service/pvestatd.pm, $updatetime) each
// node runs vmstatus over its VMs and broadcasts one sample per VM (name, status, CPUs, memory,
// boot disk size, uptime …) into the cluster's RRD cache. GET /cluster/resources
// (PVE/API2/Cluster.pm, PVE::API2Tools::extract_vm_stats) takes those fields from the last sample
// and only `lock` and `tags` from the config, at once. So a VM created since the last sample
// shows status "unknown" and no name or sizes, one sampled while being created shows the name
// "VM <vmid>" (vmstatus: `$conf->{name} || "VM $vmid"`) and status "stopped", and a started or
// stopped VM shows its old status until the next sample. pmxcfs drops samples older than 5
// minutes (pve-cluster src/pmxcfs/status.c, rrd_entry_is_old), e.g. those of an offline node.
import type { EmulatorState, VmRecord } from "./state.ts";
import { vmSummary } from "./routes/vm-summary.ts";

export const DEFAULT_SAMPLE_MS = 10_000;
const EXPIRE_MS = 5 * 60_000;

/** The fields of a /cluster/resources VM entry that come from the sample. */
export type VmSample = Record<string, unknown>;

function sampleOf(vm: VmRecord): VmSample {
  const { cpus, name, status, template, maxmem, maxdisk, uptime, cpu, mem, disk, netin, netout, diskread, diskwrite } = vmSummary(vm);
  return { name, status, template: template ?? 0, maxcpu: cpus, maxmem, maxdisk, uptime, cpu, mem, disk, netin, netout, diskread, diskwrite };
}

export class VmSamples {
  #samples = new Map<number, { sample: VmSample; at: number }>();
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `intervalMs` 0: every read sees the VM as it is now; Infinity: samples only when take() is called (a test that counts on it). */
  constructor(
    private readonly state: EmulatorState,
    private readonly intervalMs: number,
  ) {
    // pvestatd has been running for a while when a client first asks.
    this.take();
    // Unreferenced: the sampling alone never keeps a process alive.
    if (intervalMs > 0 && Number.isFinite(intervalMs)) this.#timer = setInterval(() => this.take(), intervalMs).unref();
  }

  /** One pvestatd cycle on every online node. A sample of a VM gone since stays until replaced or expired, as RRD entries do. */
  take(): void {
    const at = Date.now();
    for (const vm of this.state.vms.values()) {
      if (this.state.node(vm.node)?.online === true) this.#samples.set(vm.vmid, { sample: sampleOf(vm), at });
    }
  }

  /** The VM's last sample; undefined when it was created after the last one (or its node stopped sampling 5 min ago). */
  of(vm: VmRecord): VmSample | undefined {
    if (this.intervalMs === 0) return sampleOf(vm);
    const last = this.#samples.get(vm.vmid);
    return last === undefined || Date.now() - last.at > EXPIRE_MS ? undefined : last.sample;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
