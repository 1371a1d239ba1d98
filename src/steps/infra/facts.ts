// The facts a run reads from Proxmox, read once and shared by every step (pyinfra's facts):
// one GET /cluster/resources for nodes, storages and all VMs, one content listing per
// (node, storage). A step that retries after an unknown outcome asks for fresh facts instead.
// Of a VM, /cluster/resources has the tags and lock from its config, but name, status and sizes
// from pvestatd's last sample (up to 10 s old): the vm step reads each VM's config itself.

import { apiPath, type ProxmoxClient } from "../../proxmox/index.ts";
import { retrying } from "../../proxmox/retrying.ts";
import { Once, remembered } from "../memo.ts";
import { tagsOf } from "./tags.ts";
import { type PendingConfigs, type PendingItem, pendingConfigs, type VmConfig } from "./vm-diff.ts";

export interface ClusterNode {
  node: string;
  status: string; // online | offline | unknown
}

export interface ClusterStorage {
  storage: string;
  node: string;
  content: string[];
  status?: string;
  shared: boolean;
  plugintype?: string;
}

export interface ClusterVm {
  vmid: number;
  /** Sampled: absent for a VM created since the last sample, "VM <vmid>" while it is created. */
  name?: string;
  node: string;
  /** Sampled: "unknown" for a VM created since the last sample. */
  status: string;
  tags: string[];
  lock?: string;
  template: boolean;
}

/** An LXC container: never starbase's, but its VMID is taken for VMs too (one VMID list per cluster). */
export interface ClusterContainer {
  vmid: number;
  name?: string;
  node: string;
}

export interface ClusterFacts {
  nodes: ClusterNode[];
  storages: ClusterStorage[];
  vms: ClusterVm[];
  containers: ClusterContainer[];
}

/** A shared storage shows every node the same files: one download, one listing, for all of them. */
export function isSharedStorage(facts: Pick<ClusterFacts, "storages">, storage: string, node: string): boolean {
  return facts.storages.find((s) => s.storage === storage && s.node === node)?.shared === true;
}

export interface StoredVolume {
  volid: string;
  content: string;
  size: number;
  format?: string;
  vmid?: number;
}

/** GET …/content/{volume}: `size` is the virtual size of a disk image (qemu-img info), `used` the file's bytes. */
export interface VolumeInfo {
  size: number;
  used?: number;
  format?: string;
}

export interface PveVersion {
  version: string;
  release: string;
}

/** GET /cluster/options: all of datacenter.cfg only with Sys.Audit on /; `allowed-tags` always. */
export interface DatacenterOptions {
  "user-tag-access"?: { "user-allow"?: string; "user-allow-list"?: string[] };
  "registered-tags"?: string[];
  /** The tags this token may set without restriction by user-allow (registered ones excluded). */
  "allowed-tags"?: string[];
  [option: string]: unknown;
}

type Resource = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" ? v : typeof v === "string" && v !== "" && !Number.isNaN(Number(v)) ? Number(v) : undefined);

function vmOf(r: Resource): ClusterVm | undefined {
  const vmid = num(r.vmid);
  const node = str(r.node);
  if (r.type !== "qemu" || vmid === undefined || node === undefined) return undefined;
  const vm: ClusterVm = { vmid, node, status: str(r.status) ?? "unknown", tags: tagsOf(str(r.tags)), template: num(r.template) === 1 };
  const name = str(r.name);
  const lock = str(r.lock);
  if (name !== undefined) vm.name = name;
  if (lock !== undefined && lock !== "") vm.lock = lock;
  return vm;
}

function containerOf(r: Resource): ClusterContainer | undefined {
  const vmid = num(r.vmid);
  const node = str(r.node);
  if (r.type !== "lxc" || vmid === undefined || node === undefined) return undefined;
  const name = str(r.name);
  return { vmid, node, ...(name !== undefined && { name }) };
}

function storageOf(r: Resource): ClusterStorage | undefined {
  const storage = str(r.storage);
  const node = str(r.node);
  if (r.type !== "storage" || storage === undefined || node === undefined) return undefined;
  const out: ClusterStorage = {
    storage,
    node,
    content: (str(r.content) ?? "").split(",").filter((c) => c !== ""),
    shared: num(r.shared) === 1,
  };
  const status = str(r.status);
  const plugintype = str(r.plugintype);
  if (status !== undefined) out.status = status;
  if (plugintype !== undefined) out.plugintype = plugintype;
  return out;
}

function nodeOf(r: Resource): ClusterNode | undefined {
  const node = str(r.node);
  if (r.type !== "node" || node === undefined) return undefined;
  return { node, status: str(r.status) ?? "unknown" };
}

function defined<T>(items: (T | undefined)[]): T[] {
  return items.filter((item): item is T => item !== undefined);
}

function volumeOf(r: Resource): StoredVolume | undefined {
  const volid = str(r.volid);
  if (volid === undefined) return undefined;
  const volume: StoredVolume = { volid, content: str(r.content) ?? "", size: num(r.size) ?? 0 };
  const format = str(r.format);
  const vmid = num(r.vmid);
  if (format !== undefined) volume.format = format;
  if (vmid !== undefined) volume.vmid = vmid;
  return volume;
}

export class Facts {
  readonly #version = new Once<PveVersion>();
  readonly #cluster = new Once<ClusterFacts>();
  readonly #volumes = new Map<string, Once<StoredVolume[]>>();
  readonly #configs = new Map<string, Once<PendingConfigs>>();
  readonly #volumeInfos = new Map<string, Once<VolumeInfo>>();

  constructor(private readonly client: ProxmoxClient) {}

  version(): Promise<PveVersion> {
    return this.#version.get(() => retrying(() => this.client.get<PveVersion>("/version")));
  }

  /** Nodes, storages and VMs as of the first call in this run. */
  cluster(): Promise<ClusterFacts> {
    return this.#cluster.get(() => this.#readCluster());
  }

  /** The datacenter options (read when a tag starbase sets may be restricted). */
  datacenterOptions(): Promise<DatacenterOptions> {
    return retrying(() => this.client.get<DatacenterOptions>("/cluster/options"));
  }

  /** The token's own privileges on one ACL path (everyone may ask for their own). */
  async privileges(path: string): Promise<Set<string>> {
    const answer = await retrying(() => this.client.get<Record<string, Record<string, number>>>("/access/permissions", { path }));
    return new Set(Object.keys(answer[path] ?? {}));
  }

  /** Reads the guests again (after an unknown outcome) and keeps nodes and storages from before. */
  async freshVms(): Promise<ClusterFacts> {
    const vms = retrying(() => this.client.get<Resource[]>("/cluster/resources", { type: "vm" }));
    const before = await this.cluster();
    return this.#cluster.set(vms.then((list) => ({ ...before, vms: defined(list.map(vmOf)), containers: defined(list.map(containerOf)) })));
  }

  /** Every volume on one storage as seen from one node; `fresh` reads again. */
  volumes(node: string, storage: string, fresh = false): Promise<StoredVolume[]> {
    return remembered(this.#volumes, `${node}\0${storage}`, fresh, async () => {
      const list = await retrying(() => this.client.get<Resource[]>(apiPath`/nodes/${node}/storage/${storage}/content`));
      return defined(list.map(volumeOf));
    });
  }

  /**
   * One VM's config as GET …/pending shows it, read once per run (the vm step, the seed clean-up
   * and destroy's check share it): the values it runs with and those it gets at its next start.
   * `fresh` reads again.
   */
  vmConfigs(vm: { node: string; vmid: number }, fresh = false): Promise<PendingConfigs> {
    return remembered(this.#configs, `${vm.node}/${vm.vmid}`, fresh, async () =>
      pendingConfigs(await retrying(() => this.client.get<PendingItem[]>(apiPath`/nodes/${vm.node}/qemu/${vm.vmid}/pending`))));
  }

  /** One VM's config as GET …/config answers it (pending values taken in), from the same read. */
  async vmConfig(vm: { node: string; vmid: number }, fresh = false): Promise<VmConfig> {
    return (await this.vmConfigs(vm, fresh)).next;
  }

  /** One volume's attributes as seen from one node (the image's virtual size), read once per run. */
  volumeInfo(node: string, storage: string, volid: string): Promise<VolumeInfo> {
    return remembered(this.#volumeInfos, `${node}\0${volid}`, false,
      () => retrying(() => this.client.get<VolumeInfo>(apiPath`/nodes/${node}/storage/${storage}/content/${volid}`)));
  }

  async #readCluster(): Promise<ClusterFacts> {
    // No type filter: one request brings the nodes and storages (with their content types) for the preflight too.
    const list = await retrying(() => this.client.get<Resource[]>("/cluster/resources"));
    let nodes = defined(list.map(nodeOf));
    // Some servers list nodes here only with Sys.Audit on them; GET /nodes lists every node to everyone.
    if (nodes.length === 0) nodes = defined((await retrying(() => this.client.get<Resource[]>("/nodes"))).map((r) => nodeOf({ ...r, type: "node" })));
    return { nodes, storages: defined(list.map(storageOf)), vms: defined(list.map(vmOf)), containers: defined(list.map(containerOf)) };
  }
}
