// vm:<host> — the VM exists with its VMID and name on its node, has the managed config and
// tags, and runs. /cluster/resources finds it and says whose it is (its tags); its config, read
// on every run (one request per VM), says whether it is what the spec wants, changes made in
// the web UI included.

import { apiPath, NotFoundError } from "../../proxmox/index.ts";
import type { Host } from "../../inventory/types.ts";
import { counted } from "../../ui/words.ts";
import { type StepFamily, stepHost } from "../family.ts";
import { type ActContext, type Change, ObserveAgainError, unchanged, type Observed } from "../observed.ts";
import type { InfraRun } from "./context.ts";
import { desiredVm } from "./desired.ts";
import { isClusterVm, MANAGED_TAG } from "./tags.ts";
import { importVolid } from "./image-source.ts";
import { type ClusterVm, isSharedStorage } from "./facts.ts";
import { imageNodes } from "./nodes.ts";
import { clusterVmsOffSpec } from "./not-in-spec.ts";
import { configVolumes, describeUsers } from "./iso-users.ts";
import { legacySeedOwners, seedOwner, volumeFileName } from "./seed-image.ts";
import { claimedSeedIsos, type SeedClaim } from "./seed-isos.ts";
import { awaitTask } from "../../proxmox/task.ts";
import { createVm, diskTooSmall, resizeDisk, startVm, waitUnlocked } from "./vm-actions.ts";
import { configText, diffWithPending, type VmConfig } from "./vm-diff.ts";
import { removeVolumes, type StoredFile } from "./volumes.ts";

/** Stale seed ISOs of a host: the ones to delete (`-`), and the ones kept, with why (`=`). */
interface SeedCleanup {
  changes: Change[];
  remove: StoredFile[];
}

/** Whether a seed ISO name is this host's: current names say so; a legacy one only when it reads no other way or the host's VM uses it. */
function seedOfHost(volid: string, cluster: string, host: string, ownVolumes: ReadonlySet<string>): SeedClaim {
  const fileName = volumeFileName(volid);
  const owner = seedOwner(fileName);
  if (owner !== undefined) return owner.cluster === cluster && owner.host === host ? "own" : undefined;
  const readings = legacySeedOwners(fileName);
  if (!readings.some((o) => o.cluster === cluster && o.host === host)) return undefined;
  return readings.length === 1 || ownVolumes.has(volid) ? "own" : "ambiguous";
}

/**
 * Seed ISOs of this host other than the current one on its node: older versions, and copies on
 * other nodes (a host the spec moved, or pinned and unpinned, leaves its seed behind there).
 * One that any other VM's config names is kept, whoever's VM that is. `ownConfig` is the host's
 * VM config when it was read: a legacy name it uses is this host's.
 */
async function seedCleanup(run: InfraRun, host: Host, fresh: boolean, ownConfig?: VmConfig): Promise<SeedCleanup> {
  const cluster = run.inv.spec.name;
  const storage = run.inv.spec.proxmox.storage.cloudInit;
  const current = run.seed(host);
  const ownVolumes = new Set(ownConfig === undefined ? [] : configVolumes(ownConfig));
  const facts = await run.facts.cluster();
  const cleanup: SeedCleanup = { changes: [], remove: [] };
  for (const node of imageNodes(run.inv)) {
    // A shared storage shows every node the same files: looking from the host's node is enough.
    if (isSharedStorage(facts, storage, node) && node !== host.pveNode) continue;
    const isCurrent = (volid: string) => volid === current.volid && node === host.pveNode;
    const { claimed, ambiguous } = await claimedSeedIsos(run, node, fresh, (volid) => (isCurrent(volid) ? undefined : seedOfHost(volid, cluster, host.name, ownVolumes)));
    cleanup.changes.push(...ambiguous);
    for (const { volid, users } of claimed) {
      const others = users.filter((vm) => vm.vmid !== host.vmid);
      if (others.length > 0) {
        cleanup.changes.push(unchanged(`seed ISO ${volid} on ${node}`, `kept: ${describeUsers(others)}`));
      } else {
        cleanup.changes.push({ op: "-", subject: `seed ISO ${volid} on ${node}`, reason: `replaced by ${current.fileName}` });
        cleanup.remove.push({ node, volid });
      }
    }
  }
  return cleanup;
}

/** The changes to report and make: nothing to do when none is more than "=". */
function observed(subject: string, why: string, changes: Change[], apply: (ctx: ActContext) => Promise<void>): Observed {
  if (changes.every((c) => c.op === "=")) return { changes: [unchanged(subject, why), ...changes] };
  return { changes, apply };
}

/**
 * Per attempt: creating a VM imports its disk from the image. The VM list, the configs and the
 * storages it reads exist before its image and seed do; the image's size is said to be checked
 * once the image is there.
 */
export const vmFamily: StepFamily<InfraRun> = {
  kinds: ["vm"],
  timeoutMs: 60 * 60_000,
  observableBeforeNeeds: true,
  observe: (run, step, { fresh }) => observeVm(run, stepHost(run.inv, step), fresh),
};

export async function observeVm(run: InfraRun, host: Host, fresh: boolean): Promise<Observed> {
  const { spec } = run.inv;
  const cluster = fresh ? await run.facts.freshVms() : await run.facts.cluster();
  const seed = run.seed(host);
  const desired = desiredVm(run.inv, host, seed.volid);
  const subject = `VM ${host.name} (${host.vmid})`;
  const removeStale = (cleanup: SeedCleanup, ctx: ActContext) => removeVolumes(run, cleanup.remove, ctx);
  const vm = cluster.vms.find((v) => v.vmid === host.vmid);

  if (vm === undefined) {
    // VMs and containers share one VMID list: Proxmox refuses to create a VM on a container's VMID.
    const container = cluster.containers.find((ct) => ct.vmid === host.vmid);
    if (container !== undefined) {
      return blocked(subject, `VMID ${host.vmid} is used by container ${container.name ?? "?"} (CT) on ${container.node}; `
        + `VMs and containers share VMIDs: give ${host.name} another vmid (vmid: or the group's vmidStart)`);
    }
    const elsewhere = (await clusterVmsOffSpec(run, fresh)).find(({ name }) => name === host.name)?.vm;
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
    const cleanup = await seedCleanup(run, host, fresh);
    return {
      changes: [{ op: "+", subject: `${subject} on ${host.pveNode}`, reason: `not in Proxmox: create with ${counted(host.vm.cores, "core")}, `
        + `${host.vm.memory} MiB, a ${host.vm.disk} GiB disk from ${image} and seed ${seed.fileName}, then start it${sizeCheck}` }, ...cleanup.changes],
      async apply(ctx) {
        await createVm(run, host, desired, image, ctx);
        await removeStale(cleanup, ctx);
      },
    };
  }

  if (vm.lock !== undefined) return waitForLock(run, vm, vm.lock, subject);
  // /cluster/resources takes tags and lock from the config, so they are current; name, status and
  // sizes come from pvestatd's last sample, up to 10 s old (absent, or "VM <vmid>", for a VM created
  // since). The tags say whose VM it is; the config says the rest.
  // The running values and the pending ones in one request; `next` is what GET …/config answers.
  const configs = await readListedVm(vm, () => run.facts.vmConfigs(vm, fresh));
  const config = configs.next;
  // A lock taken since the listing (a backup, another run's update).
  const lock = configText(config.lock);
  if (lock !== undefined && lock !== "") return waitForLock(run, vm, lock, subject);
  const name = configText(config.name);
  if (name !== host.name || !isClusterVm(vm, spec.name)) return blocked(subject, takenVmid(run, host, vm, name));
  if (vm.node !== host.pveNode) {
    return blocked(subject, `runs on ${vm.node} but the spec places it on ${host.pveNode}; starbase never moves a VM: `
      + `migrate it in Proxmox, pin pveNode: ${vm.node} for ${host.name}, or destroy it and apply again`);
  }
  const status = await currentStatus(run, vm);
  const running = status === "running";
  const start: Change[] = running ? [] : [{ op: "~", subject, field: "status", from: status, to: "running", reason: "starbase keeps its VMs running" }];
  const diff = diffWithPending(desired, configs, subject, running);
  const cleanup = await seedCleanup(run, host, fresh, config);
  const changes = [...diff.changes, ...start, ...cleanup.changes];
  if (changes.some((c) => c.op === "!")) return { changes };
  // Only waiting for a restart, which is not starbase's to make: nothing to act on.
  if (changes.some((c) => c.waitsForRestart === true) && changes.every((c) => c.waitsForRestart === true || c.op === "=")) return { changes };
  return observed(subject, "config matches the spec; running", changes, async (ctx) => {
    if (Object.keys(diff.set).length > 0 || diff.remove.length > 0) {
      const params = { ...diff.set, ...(diff.remove.length > 0 && { delete: diff.remove.join(",") }) };
      const upid = await run.client.post<string | null>(apiPath`/nodes/${host.pveNode}/qemu/${host.vmid}/config`, params);
      await awaitTask(run.client, ctx, `updating VM ${host.name}`, upid);
    }
    if (diff.growDiskGiB !== undefined) await resizeDisk(run, host, diff.growDiskGiB, ctx);
    if (!running) await startVm(run, host, ctx);
    await removeStale(cleanup, ctx);
  });
}

/** A read of a listed VM; deleted or migrated since the listing: look again. */
async function readListedVm<T>(vm: ClusterVm, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
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
  const current = await readListedVm(vm, () => run.client.get<{ status?: string }>(apiPath`/nodes/${vm.node}/qemu/${vm.vmid}/status/current`));
  return current.status ?? "unknown";
}

/**
 * A Proxmox task holds the VM: apply waits for it, then the step observes again (a new attempt,
 * which reads the VM afresh and is checked like the first: blocked changes, unconfirmed removals).
 */
function waitForLock(run: InfraRun, vm: ClusterVm, lock: string, subject: string): Observed {
  return {
    changes: [{ op: "~", subject, field: "lock", from: lock, reason: "a Proxmox task holds the VM; apply waits for it, then looks again" }],
    async apply(ctx) {
      await waitUnlocked(run, vm, ctx);
      throw new ObserveAgainError(`VM ${vm.vmid} is no longer locked (${lock}): looking again`);
    },
  };
}

/**
 * Why the VM on a host's VMID is not that host's, and a way out that leaves no VM behind
 * unseen: another owner's VM; this cluster's VM of another host; or this cluster's VM of a
 * host the spec no longer names (a rename: starbase never renames a VM).
 */
function takenVmid(run: InfraRun, host: Host, vm: ClusterVm, configName: string | undefined): string {
  const cluster = run.inv.spec.name;
  const name = configName ?? "(no name)";
  if (!isClusterVm(vm, cluster)) {
    return `VMID ${host.vmid} is taken by ${configName === undefined ? "a VM" : `VM ${configName}`} on ${vm.node}, which is not `
      + `${host.name} of cluster ${cluster} (tags: ${vm.tags.join(";") || "none"}); give ${host.name} another vmid (vmid: or the group's vmidStart)`;
  }
  const other = run.inv.hosts.find((h) => h.name === configName);
  if (other !== undefined) {
    return `VMID ${host.vmid} is this cluster's VM ${name} on ${vm.node}, which the spec now gives VMID ${other.vmid}; `
      + `starbase never renumbers a VM: set vmid: ${host.vmid} for ${name} again and give ${host.name} another vmid`;
  }
  const role = vm.tags.find((t) => roleTags.has(t))?.slice(`${MANAGED_TAG}-`.length);
  const how = `starbase never renames a VM: put the name ${name} back in the spec, or delete VM ${host.vmid} first `
    + `(qm destroy ${host.vmid} --purge on ${vm.node}, or in the web UI) and apply again to create ${host.name}`;
  if (role === host.role) return `VMID ${host.vmid} is this cluster's VM ${name} on ${vm.node}, which the spec no longer names: ${name} renamed to ${host.name}? ${how}`;
  return `VMID ${host.vmid} is this cluster's VM ${name} (${role ?? "no role tag"}) on ${vm.node}, which the spec no longer names; `
    + `the spec gives its VMID to ${host.name} (${host.role}): delete VM ${host.vmid} first (qm destroy ${host.vmid} --purge on ${vm.node}) `
    + `and apply again, or give ${host.name} another vmid`;
}

const roleTags = new Set(["loadbalancer", "server", "agent"].map((role) => `${MANAGED_TAG}-${role}`));

/** The virtual size of the image on `node` (what an imported disk gets), or undefined while it is not there yet. */
async function imageSize(run: InfraRun, node: string, volid: string, fresh: boolean): Promise<number | undefined> {
  const storage = run.inv.spec.proxmox.storage.image;
  if (!(await run.facts.volumes(node, storage, fresh)).some((v) => v.volid === volid)) return undefined;
  return (await run.facts.volumeInfo(node, storage, volid)).size;
}

function blocked(subject: string, reason: string): Observed {
  return { changes: [{ op: "!", subject, reason }] };
}
