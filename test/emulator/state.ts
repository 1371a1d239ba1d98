// The emulated cluster: nodes, storages, volumes, VMs and task records. Saved to a JSON file on
// every change when a state file is configured, and loaded from it at start.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { ChecksumAlgorithm, ContainerSpec, StorageSpec } from "./options.ts";
import type { DecodedUpid } from "./tasks.ts";

export interface NodeRecord {
  name: string;
  online: boolean;
}

export interface VolumeRecord {
  volid: string;
  storage: string;
  /** Node holding the volume; null for shared storages. */
  node: string | null;
  content: string;
  format: string;
  size: number;
  virtualSize?: number;
  ctime: number;
  vmid?: number;
  checksums?: Partial<Record<ChecksumAlgorithm, string>>;
}

export interface VmRecord {
  vmid: number;
  node: string;
  /** The config file as key → raw value (what PVE stores). */
  config: Record<string, string>;
  /** Its [PENDING] section: values that take effect at the next start. */
  pending?: Record<string, string>;
  /** Options whose deletion is pending (the section's `delete`). */
  pendingDelete?: string[];
  running: boolean;
  pid?: number;
  startedAt?: number;
}

export interface TaskRecord extends DecodedUpid {
  upid: string;
  status: "running" | "stopped";
  exitstatus?: string;
  endtime?: number;
  log: string[];
}

interface Snapshot {
  nodes: NodeRecord[];
  storages: StorageSpec[];
  volumes: VolumeRecord[];
  vms: VmRecord[];
  /** Absent in state files written before containers were modelled. */
  containers?: ContainerSpec[];
  tasks: TaskRecord[];
}

export class EmulatorState {
  nodes: NodeRecord[];
  storages: StorageSpec[];
  volumes: VolumeRecord[];
  readonly vms = new Map<number, VmRecord>();
  containers: ContainerSpec[];
  tasks: TaskRecord[];

  private constructor(
    snapshot: Snapshot,
    private readonly file: string | undefined,
  ) {
    this.nodes = snapshot.nodes;
    this.storages = snapshot.storages;
    this.volumes = snapshot.volumes;
    this.tasks = snapshot.tasks;
    this.containers = snapshot.containers ?? [];
    for (const vm of snapshot.vms) this.vms.set(vm.vmid, vm);
  }

  /** Loads the state file if it exists, else starts a fresh cluster. */
  static open(nodes: string[], storages: StorageSpec[], file?: string, containers: ContainerSpec[] = []): EmulatorState {
    if (file && existsSync(file)) {
      const snapshot = JSON.parse(readFileSync(file, "utf8")) as Snapshot;
      const state = new EmulatorState(snapshot, file);
      state.abandonRunningTasks();
      return state;
    }
    const fresh: Snapshot = { nodes: nodes.map((name) => ({ name, online: true })), storages, volumes: [], vms: [], containers, tasks: [] };
    const state = new EmulatorState(fresh, file);
    state.changed();
    return state;
  }

  /** Workers do not survive a restart: like a killed worker, their log has no final status line. */
  private abandonRunningTasks(): void {
    for (const task of this.tasks) {
      if (task.status !== "running") continue;
      task.status = "stopped";
      task.exitstatus = "unexpected status";
      task.endtime = Math.floor(Date.now() / 1000);
    }
    this.changed();
  }

  changed(): void {
    if (!this.file) return;
    const temporary = `${this.file}.tmp`;
    writeFileSync(temporary, JSON.stringify(this.snapshot(), null, 1));
    renameSync(temporary, this.file);
  }

  snapshot(): Snapshot {
    return { nodes: this.nodes, storages: this.storages, volumes: this.volumes, vms: [...this.vms.values()], containers: this.containers, tasks: this.tasks };
  }

  node(name: string): NodeRecord | undefined {
    return this.nodes.find((node) => node.name === name);
  }

  storage(id: string): StorageSpec | undefined {
    return this.storages.find((storage) => storage.id === id);
  }

  volumesOn(node: string, storage: StorageSpec): VolumeRecord[] {
    return this.volumes.filter((volume) => volume.storage === storage.id && volume.node === (storage.shared ? null : node));
  }

  volume(node: string, volid: string): VolumeRecord | undefined {
    const storage = this.storage(volid.split(":")[0] ?? "");
    if (!storage) return undefined;
    return this.volumesOn(node, storage).find((volume) => volume.volid === volid);
  }

  /** Adds a volume, replacing one with the same volid on the same node (an overwritten file). */
  putVolume(volume: VolumeRecord): void {
    this.volumes = this.volumes.filter((other) => !(other.volid === volume.volid && other.node === volume.node));
    this.volumes.push(volume);
    this.changed();
  }

  removeVolume(volume: VolumeRecord): void {
    this.volumes = this.volumes.filter((other) => other !== volume);
    this.changed();
  }

  vm(vmid: number): VmRecord | undefined {
    return this.vms.get(vmid);
  }

  /**
   * PVE::Cluster::check_vmid_unused: VMs and containers share one VMID list. The text is the
   * error for a VMID in use ("VM 210 already exists on node 'n1'", "CT 210 …").
   */
  vmidInUse(vmid: number): string | undefined {
    const vm = this.vms.get(vmid);
    if (vm) return `VM ${vmid} already exists on node '${vm.node}'`;
    const ct = this.containers.find((container) => container.vmid === vmid);
    return ct ? `CT ${vmid} already exists on node '${ct.node}'` : undefined;
  }
}
