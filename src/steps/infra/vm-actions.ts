// What the vm step does to a VM: create it (importing the image), grow its disk, start it,
// wait for a Proxmox task that holds it. Each call is safe to repeat after a lost answer.

import { setTimeout as sleep } from "node:timers/promises";
import type { Host } from "../../inventory/types.ts";
import { GROUP_KEY } from "../../spec/groups.ts";
import { apiPath, NotFoundError, PermissionError } from "../../proxmox/index.ts";
import { type ActContext, BlockedChangeError, ObserveAgainError } from "../observed.ts";
import type { InfraRun } from "./context.ts";
import { BOOT_DISK, createParams, type DesiredVm } from "./desired.ts";
import type { ClusterVm } from "./facts.ts";
import { GIB, parseDiskSize, parsePropertyString } from "../../proxmox/property-string.ts";
import { PrivilegeError } from "./privileges.ts";
import { awaitTask, failureText } from "../../proxmox/task.ts";
import type { VmConfig } from "./vm-diff.ts";

const UNLOCK_POLL_MS = 1_000;
const UNLOCK_TIMEOUT_MS = 15 * 60_000;

/** Why `host` cannot be created from an image of `imageBytes` (virtual size), if it cannot: its disk would be smaller. */
export function diskTooSmall(host: Host, image: string, imageBytes: number): string | undefined {
  if (host.vm.disk * GIB >= imageBytes) return undefined;
  const needed = Math.ceil(imageBytes / GIB);
  return `the image ${image} has a virtual size of ${formatGiB(imageBytes)}, more than the ${host.vm.disk} GiB disk the spec gives ${host.name}, `
    + `and Proxmox cannot shrink the imported disk: set nodes.${GROUP_KEY[host.role]}.vm.disk to ${needed} or more`;
}

function formatGiB(bytes: number): string {
  const gib = bytes / GIB;
  return `${Number.isInteger(gib) ? gib : gib.toFixed(1)} GiB`;
}

export async function createVm(run: InfraRun, host: Host, desired: DesiredVm, image: string, ctx: ActContext): Promise<void> {
  // The imported disk gets the image's virtual size: known for certain only now that the image is on the node.
  const { size } = await run.facts.volumeInfo(host.pveNode, run.inv.spec.proxmox.storage.image, image);
  const refusal = diskTooSmall(host, image, size);
  if (refusal !== undefined) throw new BlockedChangeError([{ op: "!", subject: `VM ${host.name} (${host.vmid})`, field: `${BOOT_DISK} size`, reason: refusal }]);
  try {
    const upid = await run.client.post<string>(apiPath`/nodes/${host.pveNode}/qemu`, createParams(desired, run.inv.spec.proxmox.storage.disk, image));
    await awaitTask(run.client, ctx, `creating VM ${host.name} (importing ${image})`, upid);
  } catch (err) {
    // Our own earlier attempt, whose answer was lost, or someone else's VM: observing again tells which.
    if (/already exists/i.test(failureText(err))) throw new ObserveAgainError(`VMID ${host.vmid} exists already: ${failureText(err)}`);
    // Proxmox checks VM.Allocate in code and says only "Permission check failed".
    if (err instanceof PermissionError && err.aclPath === undefined) {
      throw new PrivilegeError(err.message, `/vms/${host.vmid}`, "VM.Allocate", run.client.tokenId, { cause: err });
    }
    throw err;
  }
  // The imported disk has the image's own size; grow it to the spec's.
  const config = await run.client.get<VmConfig>(apiPath`/nodes/${host.pveNode}/qemu/${host.vmid}/config`);
  const sizeText = parsePropertyString(String(config[BOOT_DISK] ?? ""), "file").get("size");
  if ((sizeText === undefined ? undefined : parseDiskSize(sizeText)) !== host.vm.disk * GIB) await resizeDisk(run, host, host.vm.disk, ctx);
  await startVm(run, host, ctx);
}

export async function resizeDisk(run: InfraRun, host: Host, sizeGiB: number, ctx: ActContext): Promise<void> {
  // An absolute size: sending it twice (after a lost answer) is harmless.
  const upid = await run.client.put<string | null>(apiPath`/nodes/${host.pveNode}/qemu/${host.vmid}/resize`, { disk: BOOT_DISK, size: `${sizeGiB}G` });
  await awaitTask(run.client, ctx, `growing the disk of ${host.name} to ${sizeGiB} GiB`, upid);
}

export async function startVm(run: InfraRun, host: Host, ctx: ActContext): Promise<void> {
  try {
    const upid = await run.client.post<string>(apiPath`/nodes/${host.pveNode}/qemu/${host.vmid}/status/start`);
    await awaitTask(run.client, ctx, `starting VM ${host.name}`, upid);
  } catch (err) {
    // An earlier start whose answer was lost has done the job.
    if (/already running/i.test(failureText(err))) return;
    throw err;
  }
}

export async function waitUnlocked(run: InfraRun, vm: ClusterVm, ctx: ActContext): Promise<void> {
  const deadline = Date.now() + UNLOCK_TIMEOUT_MS;
  for (;;) {
    let lock: string | undefined;
    try {
      const status = await run.client.get<{ lock?: string }>(apiPath`/nodes/${vm.node}/qemu/${vm.vmid}/status/current`);
      lock = status.lock === "" ? undefined : status.lock;
    } catch (err) {
      if (err instanceof NotFoundError) return; // a failed create removes the VM
      throw err;
    }
    if (lock === undefined) return;
    if (Date.now() > deadline) throw new Error(`VM ${vm.vmid} is still locked (${lock}) after ${UNLOCK_TIMEOUT_MS / 60_000} min; check its tasks in Proxmox`);
    ctx.report(`VM ${vm.vmid} is locked (${lock}); waiting`);
    await sleep(UNLOCK_POLL_MS, undefined, { signal: ctx.signal });
  }
}
