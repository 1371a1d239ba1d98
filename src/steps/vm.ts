// vm:<host> — the VM exists with its VMID and name on its node, has the managed config and
// tags, and runs. /cluster/resources finds it and says whose it is (its tags); its config, read
// on every run (one request per VM), says whether it is what the spec wants, changes made in
// the web UI included.

import { apiPath, NotFoundError } from "../proxmox/index.ts";
import type { Host } from "../inventory/types.ts";
import { counted } from "../ui/words.ts";
import { type ActContext, BlockedChangeError, type Change, unchanged, type Observed } from "./changes.ts";
import type { InfraRun } from "./context.ts";
import { clusterTag, desiredVm, isClusterVm } from "./desired.ts";
import { importVolid } from "./image-source.ts";
import type { ClusterVm } from "./observe.ts";
import { imageNodes } from "./nodes.ts";
import { isSeedOf, volumeFileName } from "./seed-image.ts";
import { awaitTask, ObserveAgainError } from "./task.ts";
import { createVm, resizeDisk, startVm, waitUnlocked } from "./vm-actions.ts";
import { configText, diffConfig, type VmConfig } from "./vm-diff.ts";
import { removeVolumes, type StoredFile } from "./volumes.ts";

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
    return {
      changes: [{ op: "+", subject: `${subject} on ${host.pveNode}`, reason: `not in Proxmox: create with ${counted(host.vm.cores, "core")}, `
        + `${host.vm.memory} MiB, a ${host.vm.disk} GiB disk from ${image} and seed ${seed.fileName}, then start it` }, ...cleanup],
      async apply(ctx) {
        await createVm(run, host, desired, image, ctx);
        await removeStale(ctx);
      },
    };
  }

  if (vm.lock !== undefined) return waitForLock(run, host, vm, vm.lock, subject);
  // /cluster/resources takes tags and lock from the config, so they are current; name, status and
  // sizes come from pvestatd's last sample, up to 10 s old (absent, or "VM <vmid>", for a VM created
  // since). The tags say whose VM it is; the config says the rest.
  const config = await readVm<VmConfig>(run, vm, "config");
  // A lock taken since the listing (a backup, another run's update).
  const lock = configText(config.lock);
  if (lock !== undefined && lock !== "") return waitForLock(run, host, vm, lock, subject);
  const name = configText(config.name);
  if (name !== host.name || !isClusterVm(vm, spec.name)) {
    return blocked(subject, `VMID ${host.vmid} is taken by ${name === undefined ? "a VM" : `VM ${name}`} on ${vm.node}, which is not `
      + `${host.name} of cluster ${spec.name} (tags: ${vm.tags.join(";") || "none"}); give ${host.name} another vmid (vmid: or the group's vmidStart)`);
  }
  if (vm.node !== host.pveNode) {
    return blocked(subject, `runs on ${vm.node} but the spec places it on ${host.pveNode}; starbase never moves a VM: `
      + `migrate it in Proxmox, pin pveNode: ${vm.node} for ${host.name}, or destroy it and apply again`);
  }
  const status = await currentStatus(run, vm);
  const running = status === "running";
  const start: Change[] = running ? [] : [{ op: "~", subject, field: "status", from: status, to: "running", reason: "starbase keeps its VMs running" }];
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
      if (!running) await startVm(run, host, ctx);
      await removeStale(ctx);
    },
  };
}

/** GET /nodes/{node}/qemu/{vmid}/<what> of a listed VM. */
async function readVm<T>(run: InfraRun, vm: ClusterVm, what: "config" | "status/current"): Promise<T> {
  try {
    return await run.client.get<T>(`${apiPath`/nodes/${vm.node}/qemu/${vm.vmid}`}/${what}`);
  } catch (err) {
    // Deleted or migrated since the listing: look again.
    if (err instanceof NotFoundError) throw new ObserveAgainError(`VM ${vm.vmid} is no longer on ${vm.node}`, { cause: err });
    throw err;
  }
}

/**
 * Running or not: a sampled "running" is taken as it is (a VM stopped since by someone else is
 * started on the next run); any other sampled status ("stopped" just after a start, "unknown"
 * for a VM created since the last sample) is asked of the VM itself.
 */
async function currentStatus(run: InfraRun, vm: ClusterVm): Promise<string> {
  if (vm.status === "running") return vm.status;
  const current = await readVm<{ status?: string }>(run, vm, "status/current");
  return current.status ?? "unknown";
}

/** A Proxmox task holds the VM: apply waits for it, then observes again. */
function waitForLock(run: InfraRun, host: Host, vm: ClusterVm, lock: string, subject: string): Observed {
  return {
    changes: [{ op: "~", subject, field: "lock", from: lock, reason: "a Proxmox task holds the VM; apply waits for it, then looks again" }],
    async apply(ctx) {
      await waitUnlocked(run, vm, ctx);
      const again = await observeVm(run, host, true);
      if (again.changes.some((c) => c.op === "!")) throw new BlockedChangeError(again.changes.filter((c) => c.op === "!"));
      await again.apply?.(ctx);
    },
  };
}

function blocked(subject: string, reason: string): Observed {
  return { changes: [{ op: "!", subject, reason }] };
}
