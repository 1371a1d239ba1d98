// vm:<host> — the VM exists with its VMID and name on its node, has the managed config and
// tags, and runs. The cheap check uses only /cluster/resources (tags carry the config hash);
// the config is read only when that check finds a difference.

import { setTimeout as sleep } from "node:timers/promises";
import { apiPath, NotFoundError, PermissionError } from "../proxmox/index.ts";
import type { Host } from "../inventory/types.ts";
import { type ActContext, BlockedChangeError, type Change, unchanged, type Observed } from "./changes.ts";
import type { InfraRun } from "./context.ts";
import { BOOT_DISK, clusterTag, createParams, type DesiredVm, desiredVm, isManagedTag, MANAGED_TAG } from "./desired.ts";
import { importVolid } from "./image-source.ts";
import type { ClusterVm } from "./observe.ts";
import { GIB, MIB, parseDiskSize, parsePropertyString } from "./property-string.ts";
import { isSeedOf, volumeFileName } from "./seed-image.ts";
import { awaitTask, failureText, ObserveAgainError, PrivilegeError } from "./task.ts";
import { diffConfig, type VmConfig } from "./vm-diff.ts";

const UNLOCK_POLL_MS = 1_000;
const UNLOCK_TIMEOUT_MS = 15 * 60_000;

/** Name, tags (with the config hash) and the sizes /cluster/resources reports all agree: no config read needed. */
function matchesWithoutConfig(vm: ClusterVm, desired: DesiredVm, host: Host): boolean {
  const managed = vm.tags.filter(isManagedTag).sort().join(";");
  const sameSize = (have: number | undefined, want: number) => have === undefined || have === want;
  return managed === desired.tags.join(";")
    && sameSize(vm.maxcpu, host.vm.cores)
    && sameSize(vm.maxmem, host.vm.memory * MIB)
    && sameSize(vm.maxdisk, host.vm.disk * GIB);
}

async function staleSeeds(run: InfraRun, host: Host, fresh: boolean): Promise<string[]> {
  const storage = run.inv.spec.proxmox.storage.cloudInit;
  const current = run.seed(host).volid;
  return (await run.facts.volumes(host.pveNode, storage, fresh))
    .filter((v) => v.content === "iso" && v.volid !== current && isSeedOf(volumeFileName(v.volid), run.inv.spec.name, host.name))
    .map((v) => v.volid);
}

export async function observeVm(run: InfraRun, host: Host, fresh: boolean): Promise<Observed> {
  const { spec } = run.inv;
  const cluster = fresh ? await run.facts.freshVms() : await run.facts.cluster();
  const seed = run.seed(host);
  const desired = desiredVm(run.inv, host, seed.volid);
  const subject = `VM ${host.name} (${host.vmid})`;
  const stale = await staleSeeds(run, host, fresh);
  const cleanup: Change[] = stale.map((volid) => ({ op: "-", subject: `seed ISO ${volid}`, reason: `replaced by ${seed.fileName}` }));
  const removeStale = (ctx: ActContext) => removeVolumes(run, host.pveNode, stale, ctx);
  const vm = cluster.vms.find((v) => v.vmid === host.vmid);

  if (vm === undefined) {
    const elsewhere = cluster.vms.find((v) => v.name === host.name && v.tags.includes(clusterTag(spec.name)));
    if (elsewhere !== undefined) {
      return blocked(subject, `a VM named ${host.name} of cluster ${spec.name} exists as VMID ${elsewhere.vmid} on ${elsewhere.node}, `
        + `but the spec gives it VMID ${host.vmid}; a new VMID needs re-creation: destroy VM ${elsewhere.vmid} or set vmid: ${elsewhere.vmid} for ${host.name}`);
    }
    const image = importVolid(spec.proxmox.storage.image, (await run.image()).fileName);
    return {
      changes: [{ op: "+", subject: `${subject} on ${host.pveNode}`, reason: `not in Proxmox: create with ${host.vm.cores} cores, `
        + `${host.vm.memory} MiB, a ${host.vm.disk} GiB disk from ${image} and seed ${seed.fileName}, then start it` }, ...cleanup],
      async apply(ctx) {
        await createVm(run, host, desired, image, ctx);
        await removeStale(ctx);
      },
    };
  }

  if (vm.lock !== undefined) {
    return {
      changes: [{ op: "~", subject, field: "lock", from: vm.lock, reason: "a Proxmox task holds the VM; apply waits for it, then looks again" }],
      async apply(ctx) {
        await waitUnlocked(run, vm, ctx);
        const again = await observeVm(run, host, true);
        if (again.changes.some((c) => c.op === "!")) throw new BlockedChangeError(again.changes.filter((c) => c.op === "!"));
        await again.apply?.(ctx);
      },
    };
  }
  const ours = vm.name === host.name && vm.tags.includes(MANAGED_TAG) && vm.tags.includes(clusterTag(spec.name));
  if (!ours) {
    return blocked(subject, `VMID ${host.vmid} is taken by ${vm.name === undefined ? "a VM" : `VM ${vm.name}`} on ${vm.node}, which is not `
      + `${host.name} of cluster ${spec.name} (tags: ${vm.tags.join(";") || "none"}); give ${host.name} another vmid (vmid: or the group's vmidStart)`);
  }
  if (vm.node !== host.pveNode) {
    return blocked(subject, `runs on ${vm.node} but the spec places it on ${host.pveNode}; starbase never moves a VM: `
      + `migrate it in Proxmox, pin pveNode: ${vm.node} for ${host.name}, or destroy it and apply again`);
  }

  const running = vm.status === "running";
  const start: Change[] = running ? [] : [{ op: "~", subject, field: "status", from: vm.status, to: "running", reason: "starbase keeps its VMs running" }];
  const startIfStopped = (ctx: ActContext) => (running ? Promise.resolve() : startVm(run, host, ctx));
  if (matchesWithoutConfig(vm, desired, host)) {
    const changes = [...start, ...cleanup];
    if (changes.length === 0) return { changes: [unchanged(subject, `config hash ${desired.configHash}, sizes and node match; running`)] };
    return {
      changes,
      async apply(ctx) {
        await startIfStopped(ctx);
        await removeStale(ctx);
      },
    };
  }

  const config = await run.client.get<VmConfig>(apiPath`/nodes/${vm.node}/qemu/${vm.vmid}/config`);
  const diff = diffConfig(desired, config, subject, running);
  const changes = [...diff.changes, ...start, ...cleanup];
  if (changes.length === 0) return { changes: [unchanged(subject, "config matches the spec; running")] };
  if (changes.some((c) => c.op === "!")) return { changes };
  return {
    changes,
    async apply(ctx) {
      if (Object.keys(diff.set).length > 0 || diff.remove.length > 0) {
        const params = { ...diff.set, ...(diff.remove.length > 0 && { delete: diff.remove.join(",") }) };
        const upid = await run.client.post<string | null>(apiPath`/nodes/${host.pveNode}/qemu/${host.vmid}/config`, params);
        await awaitTask(run.client, ctx, `updating VM ${host.name}`, upid);
      }
      if (diff.growDiskGiB !== undefined) await resizeDisk(run, host, diff.growDiskGiB, ctx);
      await startIfStopped(ctx);
      await removeStale(ctx);
    },
  };
}

function blocked(subject: string, reason: string): Observed {
  return { changes: [{ op: "!", subject, reason }] };
}

async function createVm(run: InfraRun, host: Host, desired: DesiredVm, image: string, ctx: ActContext): Promise<void> {
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
  const bytes = sizeText === undefined ? undefined : parseDiskSize(sizeText);
  if (bytes !== undefined && bytes > host.vm.disk * GIB) {
    throw new Error(`the image's disk is ${sizeText}, larger than the ${host.vm.disk} GiB the spec gives ${host.name}; raise the disk size of its node type`);
  }
  if (bytes !== host.vm.disk * GIB) await resizeDisk(run, host, host.vm.disk, ctx);
  await startVm(run, host, ctx);
}

async function resizeDisk(run: InfraRun, host: Host, sizeGiB: number, ctx: ActContext): Promise<void> {
  // An absolute size: sending it twice (after a lost answer) is harmless.
  const upid = await run.client.put<string | null>(apiPath`/nodes/${host.pveNode}/qemu/${host.vmid}/resize`, { disk: BOOT_DISK, size: `${sizeGiB}G` });
  await awaitTask(run.client, ctx, `growing the disk of ${host.name} to ${sizeGiB} GiB`, upid);
}

async function startVm(run: InfraRun, host: Host, ctx: ActContext): Promise<void> {
  try {
    const upid = await run.client.post<string>(apiPath`/nodes/${host.pveNode}/qemu/${host.vmid}/status/start`);
    await awaitTask(run.client, ctx, `starting VM ${host.name}`, upid);
  } catch (err) {
    // An earlier start whose answer was lost has done the job.
    if (/already running/i.test(failureText(err))) return;
    throw err;
  }
}

async function waitUnlocked(run: InfraRun, vm: ClusterVm, ctx: ActContext): Promise<void> {
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

/** Deletes volumes (stale seed ISOs); one that is already gone counts as deleted. */
export async function removeVolumes(run: InfraRun, node: string, volids: readonly string[], ctx: ActContext): Promise<void> {
  for (const volid of volids) {
    const storage = volid.slice(0, volid.indexOf(":"));
    try {
      const upid = await run.client.delete<string | null>(apiPath`/nodes/${node}/storage/${storage}/content/${volid}`);
      await awaitTask(run.client, ctx, `removing ${volid}`, upid);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
}
