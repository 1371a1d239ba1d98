// vm:<host> — the VM exists with its VMID and name on its node, has the managed config and
// tags, and runs. The cheap check uses only /cluster/resources (tags carry the config hash);
// the config is read only when that check finds a difference.

import { apiPath } from "../proxmox/index.ts";
import type { Host } from "../inventory/types.ts";
import { counted } from "../ui/words.ts";
import { type ActContext, BlockedChangeError, type Change, unchanged, type Observed } from "./changes.ts";
import type { InfraRun } from "./context.ts";
import { clusterTag, type DesiredVm, desiredVm, isClusterVm, isManagedTag } from "./desired.ts";
import { importVolid } from "./image-source.ts";
import type { ClusterVm } from "./observe.ts";
import { imageNodes } from "./nodes.ts";
import { GIB, MIB } from "./property-string.ts";
import { isSeedOf, volumeFileName } from "./seed-image.ts";
import { awaitTask } from "./task.ts";
import { createVm, diskTooSmall, resizeDisk, startVm, waitUnlocked } from "./vm-actions.ts";
import { diffWithPending, type PendingItem } from "./vm-diff.ts";
import { removeVolumes, type StoredFile } from "./volumes.ts";

/** Name, tags (with the config hash) and the sizes /cluster/resources reports all agree: no config read needed. */
function matchesWithoutConfig(vm: ClusterVm, desired: DesiredVm, host: Host): boolean {
  const managed = vm.tags.filter(isManagedTag).sort().join(";");
  const sameSize = (have: number | undefined, want: number) => have === undefined || have === want;
  return managed === desired.tags.join(";")
    && sameSize(vm.maxcpu, host.vm.cores)
    && sameSize(vm.maxmem, host.vm.memory * MIB)
    && sameSize(vm.maxdisk, host.vm.disk * GIB);
}

/**
 * Seed ISOs of this host other than the current one on its node: older versions, and copies on
 * other nodes (a host the spec moved, or pinned and unpinned, leaves its seed behind there).
 */
async function staleSeeds(run: InfraRun, host: Host, fresh: boolean): Promise<StoredFile[]> {
  const storage = run.inv.spec.proxmox.storage.cloudInit;
  const current = run.seed(host).volid;
  const { storages } = await run.facts.cluster();
  const stale: StoredFile[] = [];
  for (const node of imageNodes(run.inv)) {
    // A shared storage shows every node the same files: looking from the host's node is enough.
    const shared = storages.find((s) => s.storage === storage && s.node === node)?.shared === true;
    if (shared && node !== host.pveNode) continue;
    for (const v of await run.facts.volumes(node, storage, fresh)) {
      if (v.content !== "iso" || (v.volid === current && node === host.pveNode)) continue;
      if (isSeedOf(volumeFileName(v.volid), run.inv.spec.name, host.name)) stale.push({ node, volid: v.volid });
    }
  }
  return stale;
}

export async function observeVm(run: InfraRun, host: Host, fresh: boolean): Promise<Observed> {
  const { spec } = run.inv;
  const cluster = fresh ? await run.facts.freshVms() : await run.facts.cluster();
  const seed = run.seed(host);
  const desired = desiredVm(run.inv, host, seed.volid);
  const subject = `VM ${host.name} (${host.vmid})`;
  const stale = await staleSeeds(run, host, fresh);
  const cleanup: Change[] = stale.map(({ node, volid }) => ({ op: "-", subject: `seed ISO ${volid} on ${node}`, reason: `replaced by ${seed.fileName}` }));
  const removeStale = (ctx: ActContext) => removeVolumes(run, stale, ctx);
  const vm = cluster.vms.find((v) => v.vmid === host.vmid);

  if (vm === undefined) {
    const elsewhere = cluster.vms.find((v) => v.name === host.name && v.tags.includes(clusterTag(spec.name)));
    if (elsewhere !== undefined) {
      return blocked(subject, `a VM named ${host.name} of cluster ${spec.name} exists as VMID ${elsewhere.vmid} on ${elsewhere.node}, `
        + `but the spec gives it VMID ${host.vmid}; a new VMID needs re-creation: destroy VM ${elsewhere.vmid} or set vmid: ${elsewhere.vmid} for ${host.name}`);
    }
    const image = importVolid(spec.proxmox.storage.image, (await run.image()).fileName);
    const imageBytes = await imageSize(run, host.pveNode, image, fresh);
    const tooSmall = imageBytes === undefined ? undefined : diskTooSmall(host, image, imageBytes);
    if (tooSmall !== undefined) return blocked(subject, tooSmall);
    // Known after the download: plan says so, and apply checks before it creates the VM.
    const sizeCheck = imageBytes === undefined ? "; its disk is checked against the image's virtual size once the image is downloaded" : "";
    return {
      changes: [{ op: "+", subject: `${subject} on ${host.pveNode}`, reason: `not in Proxmox: create with ${counted(host.vm.cores, "core")}, `
        + `${host.vm.memory} MiB, a ${host.vm.disk} GiB disk from ${image} and seed ${seed.fileName}, then start it${sizeCheck}` }, ...cleanup],
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
  if (vm.name !== host.name || !isClusterVm(vm, spec.name)) {
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
  if (!run.readEveryConfig && matchesWithoutConfig(vm, desired, host)) {
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

  // The running values and the pending ones in one request (GET …/config would merge them).
  const items = await run.client.get<PendingItem[]>(apiPath`/nodes/${vm.node}/qemu/${vm.vmid}/pending`);
  const diff = diffWithPending(desired, items, subject, running);
  const changes = [...diff.changes, ...start, ...cleanup];
  if (changes.length === 0) return { changes: [unchanged(subject, "config matches the spec; running")] };
  // Blocked, or only waiting for a restart that is not starbase's to make: nothing to act on.
  if (changes.some((c) => c.op === "!") || changes.every((c) => c.waitsForRestart === true)) return { changes };
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

/** The virtual size of the image on `node` (what an imported disk gets), or undefined while it is not there yet. */
async function imageSize(run: InfraRun, node: string, volid: string, fresh: boolean): Promise<number | undefined> {
  const storage = run.inv.spec.proxmox.storage.image;
  if (!(await run.facts.volumes(node, storage, fresh)).some((v) => v.volid === volid)) return undefined;
  return (await run.facts.volumeInfo(node, storage, volid)).size;
}

function blocked(subject: string, reason: string): Observed {
  return { changes: [{ op: "!", subject, reason }] };
}
