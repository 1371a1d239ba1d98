// The VM a host should be, spelled as Proxmox options: what create sets and update compares.

import type { Params } from "../../proxmox/index.ts";
import type { Host, Inventory, Nic } from "../../inventory/types.ts";
import { vmTags } from "./tags.ts";

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
