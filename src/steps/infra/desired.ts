// The VM a host should be, spelled as Proxmox options, and the tags that mark it as starbase's:
// `starbase`, `starbase-<cluster>` and `starbase-<role>`. A fixed set, so that an administrator
// who restricts tags (datacenter option user-tag-access) can allow them once; the VM's config
// itself, read on every run, says whether it is what the spec wants.

import type { Params } from "../../proxmox/index.ts";
import type { Host, Inventory, Nic } from "../../inventory/types.ts";

export const MANAGED_TAG = "starbase";
/** Earlier versions also tagged each VM starbase-cfg-<hash of its config>; apply removes that tag. */
const LEGACY_CONFIG_TAG_PREFIX = "starbase-cfg-";
/** scsi0 options starbase sets besides the volume and its size. */
export const DISK_OPTIONS: Readonly<Record<string, string>> = { discard: "on", iothread: "1" };
/** DISK_OPTIONS as property-string items: "discard=on", "iothread=1". */
export const DISK_OPTION_ITEMS: readonly string[] = Object.entries(DISK_OPTIONS).map(([k, v]) => `${k}=${v}`);
export const BOOT_DISK = "scsi0";
export const SEED_DRIVE = "ide2";

export interface DesiredVm {
  vmid: number;
  name: string;
  node: string;
  /** Managed options as Proxmox spells them; create sets them, update compares them one by one. */
  options: Record<string, string>;
  diskGiB: number;
  /** Managed tags, lower case and sorted (Proxmox stores them so). */
  tags: string[];
}

export function clusterTag(cluster: string): string {
  return `${MANAGED_TAG}-${cluster}`.toLowerCase();
}

/** Carries both `starbase` and `starbase-<cluster>`: a VM of this cluster, the only kind starbase changes or destroys. */
export function isClusterVm(vm: { tags: readonly string[] }, cluster: string): boolean {
  return vm.tags.includes(MANAGED_TAG) && vm.tags.includes(clusterTag(cluster));
}

/** Tags starbase owns on a VM: "starbase" and every "starbase-…" tag; others belong to the user and are kept. */
export function isManagedTag(tag: string): boolean {
  return tag === MANAGED_TAG || tag.startsWith(`${MANAGED_TAG}-`);
}

export function isLegacyConfigTag(tag: string): boolean {
  return tag.startsWith(LEGACY_CONFIG_TAG_PREFIX);
}

/** The tags starbase gives a VM of this role in this cluster, lower case and sorted. */
export function vmTags(cluster: string, role: string): string[] {
  return [MANAGED_TAG, clusterTag(cluster), `${MANAGED_TAG}-${role}`.toLowerCase()].sort();
}

/** The tags of a VM as Proxmox reports them ("a;b", or split by "," or spaces), lower case. */
export function tagsOf(value: string | number | undefined): string[] {
  if (value === undefined) return [];
  return String(value).split(/[;,\s]+/).filter((t) => t !== "").map((t) => t.toLowerCase());
}

/** "virtio,bridge=vmbr0,mtu=1500,tag=20": the NIC without a MAC, which Proxmox generates. */
function nicOption(nic: Nic): string {
  let option = `${nic.model},bridge=${nic.bridge}`;
  if (nic.mtu !== undefined) option += `,mtu=${nic.mtu}`;
  if (nic.vlan !== undefined) option += `,tag=${nic.vlan}`;
  return option;
}

export function desiredVm(inv: Inventory, host: Host, seedVolid: string): DesiredVm {
  const { vm } = host;
  const options: Record<string, string> = {
    ostype: "l26",
    scsihw: "virtio-scsi-single",
    cores: String(vm.cores),
    memory: String(vm.memory),
    // Equal to memory: a balloon device (for the guest agent's memory stats) but no ballooning range.
    balloon: String(vm.balloon ?? vm.memory),
    cpu: vm.cpu,
    agent: "enabled=1",
    // Cloud images expect a serial console.
    serial0: "socket",
    vga: "serial0",
    boot: `order=${BOOT_DISK}`,
    [SEED_DRIVE]: `${seedVolid},media=cdrom`,
  };
  for (const nic of host.nics) options[`net${nic.index}`] = nicOption(nic);
  return { vmid: host.vmid, name: host.name, node: host.pveNode, options, diskGiB: vm.disk, tags: vmTags(inv.spec.name, host.role) };
}

/** POST /nodes/{node}/qemu: the disk is imported from the image (size 0 = the image's size) and grown afterwards. */
export function createParams(desired: DesiredVm, diskStorage: string, imageVolid: string): Params {
  return {
    vmid: desired.vmid,
    name: desired.name,
    ...desired.options,
    [BOOT_DISK]: `${diskStorage}:0,import-from=${imageVolid},${DISK_OPTION_ITEMS.join(",")}`,
    tags: desired.tags.join(";"),
  };
}
