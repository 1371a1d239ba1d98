// Which VMs use an ISO: a VM's config names it as a drive ("ide2: local:iso/x.iso,media=cdrom").
// Proxmox deletes an ISO that VMs use without a word (pve-storage's vdisk_free checks no
// config), and those VMs then fail to start. So before starbase deletes an ISO it reads the
// configs of every VM that could name it, whoever's VM that is: on a shared storage all VMs,
// otherwise those on the storage's node. Only done when there is something to delete.

import { NotFoundError } from "../../proxmox/index.ts";
import { eachLimited } from "../parallel.ts";
import { parsePropertyString } from "../../proxmox/property-string.ts";
import type { InfraRun } from "./context.ts";
import { isSharedStorage } from "./facts.ts";
import { configText, type VmConfig } from "./vm-diff.ts";

/** A VM that uses a volume, named as its config names it (/cluster/resources may not have sampled the name yet). */
export interface IsoUser {
  vmid: number;
  name: string | undefined;
}

/** Volume ids → the VMs whose configs name them. */
export type IsoUsers = Map<string, IsoUser[]>;

// Keys whose value starts with a volume: drives (ide0, scsi1 …, efidisk0, tpmstate0) and unusedN.
const VOLUME_KEY = /^((ide|sata|scsi|virtio)\d+|efidisk0|tpmstate0|unused\d+)$/;

/** The volumes a VM config names ("local:iso/x.iso"), drives and unused disks alike. */
export function configVolumes(config: VmConfig): string[] {
  const volumes: string[] = [];
  for (const [key, value] of Object.entries(config)) {
    if (!VOLUME_KEY.test(key) || value === undefined) continue;
    const drive = parsePropertyString(String(value), "file");
    const volume = drive.get("file") ?? drive.get("volume");
    if (volume !== undefined) volumes.push(volume);
  }
  return volumes;
}

/**
 * The VMs that use the volumes of `storage` as seen from `node`, by their configs. `fresh`
 * reads the VM list and the configs again instead of using what this run has read.
 */
export async function isoUsers(run: InfraRun, node: string, storage: string, fresh: boolean): Promise<IsoUsers> {
  const facts = fresh ? await run.facts.freshVms() : await run.facts.cluster();
  const shared = isSharedStorage(facts, storage, node);
  const candidates = facts.vms.filter((vm) => shared || vm.node === node);
  const users: IsoUsers = new Map();
  await eachLimited(candidates, async (vm) => {
    let config: VmConfig;
    try {
      config = await run.facts.vmConfig(vm, fresh);
    } catch (err) {
      if (err instanceof NotFoundError) return; // deleted since the listing: it uses nothing
      throw err;
    }
    const user: IsoUser = { vmid: vm.vmid, name: configText(config.name) };
    for (const volid of configVolumes(config)) {
      if (!volid.startsWith(`${storage}:`)) continue;
      users.set(volid, [...(users.get(volid) ?? []), user]);
    }
  });
  return users;
}

/** "VM rescue (400) uses it", "VMs a (1), b (2) use it". */
export function describeUsers(vms: readonly IsoUser[]): string {
  const names = vms.map((vm) => `${vm.name ?? "?"} (${vm.vmid})`).join(", ");
  return vms.length === 1 ? `VM ${names} uses it` : `VMs ${names} use it`;
}
