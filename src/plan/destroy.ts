// destroy: the VMs of the cluster (whatever the spec says today) and their seed ISOs, through
// the infra phase's session. Shown and confirmed before anything goes; checked again under the lock.

import type { RunnableStep } from "../engine/index.ts";
import type { InfraRun } from "../steps/infra/context.ts";
import { isSharedStorage } from "../steps/infra/facts.ts";
import { checkDestroy, type DestroyCheck, observeSeedRemoval, observeVmRemoval, seedNodes } from "../steps/infra/destroy.ts";
import type { Change } from "../steps/observed.ts";
import { type InfraSession, withGrant } from "./infra.ts";
import type { PlanStep } from "./graph.ts";
import { type ChangeLog, type LiveOptions, RETRY, runnable } from "./runnables.ts";
import { removalsOf, runLive, type RunSink, stepChanges, type StepChanges } from "./walk.ts";

/** What destroy would remove, observed without acting: shown, and confirmed, before anything goes. */
export interface DestroyPreview {
  removals: Change[];
  vms: number;
  seedIsos: number;
}

export interface DestroyOptions {
  forceUnlock: boolean;
  /** Aborted by the caller on Ctrl-C; destroy aborts it on a lost lock. */
  controller: AbortController;
  /** Asked only when there is something to destroy; false stops before the lock is taken. */
  confirm(preview: DestroyPreview): Promise<boolean>;
}

export type DestroyResult =
  | { outcome: "nothing-to-destroy" }
  /** A VM would refuse to go (protection, a lock) or is no longer this cluster's: nothing was touched. */
  | { outcome: "refused"; refusals: string[] }
  | { outcome: "not-confirmed" }
  | { outcome: "not-locked" }
  | { outcome: "destroyed"; ok: boolean; steps: StepChanges[]; removed: Change[] };

export async function destroyInfra(session: InfraSession, opts: DestroyOptions, sink: RunSink): Promise<DestroyResult> {
  const { controller } = opts;
  // Every VM is checked before anything goes, and again under the lock: one refusal, nothing is touched.
  const before = await checkDestroy(session.run);
  if (before.refusals.length > 0) return { outcome: "refused", refusals: before.refusals };
  const preview: ChangeLog = new Map();
  const planned = await destroyRunnables(session.run, before, { mode: "plan", log: preview });
  const previewSummary = await runLive(planned, { retry: RETRY, stage: "observe", signal: controller.signal }, sink);
  const removals = removalsOf(stepChanges(planned, preview, previewSummary));
  if (removals.length === 0) return { outcome: "nothing-to-destroy" };
  const vms = removals.filter((c) => c.subject.startsWith("VM ")).length;
  if (!(await opts.confirm({ removals, vms, seedIsos: removals.length - vms }))) return { outcome: "not-confirmed" };

  if (!(await session.lock({ command: "destroy", force: opts.forceUnlock, onLost: () => controller.abort() }))) return { outcome: "not-locked" };
  // Under the lock, read again what is there.
  const run = session.run.refreshed();
  const now = await checkDestroy(run);
  if (now.refusals.length > 0) return { outcome: "refused", refusals: now.refusals };
  const log: ChangeLog = new Map();
  const runnables = await destroyRunnables(run, now, { mode: "apply", log });
  const summary = await runLive(runnables, { retry: RETRY, stage: "act", signal: controller.signal }, sink);
  const steps = stepChanges(runnables, log, summary);
  return { outcome: "destroyed", ok: summary.ok, steps, removed: removalsOf(steps) };
}

/**
 * destroy: one step per VM of the cluster (stop, delete with its disks), then one per node for
 * the seed ISOs, after the VMs of that node are gone (one for a shared storage, after all VMs).
 * The VMs are those `checkDestroy` found in Proxmox, not those of the spec.
 */
async function destroyRunnables(run: InfraRun, check: DestroyCheck, liveOptions: LiveOptions): Promise<RunnableStep[]> {
  const opts: LiveOptions = { ...liveOptions, explainError: (err) => withGrant(err, run.client.tokenId) };
  const { vms } = check;
  const hostNames = [...new Set([...run.inv.hosts.map((h) => h.name), ...vms.flatMap((vm) => (vm.name === undefined ? [] : [vm.name]))])];
  const vmSteps = vms.map((vm) => {
    const node: PlanStep = { id: `destroy-vm:${vm.name ?? vm.vmid}`, kind: "destroy-vm", pveNode: vm.node, needs: [], ...(vm.name !== undefined && { host: vm.name }) };
    return runnable(node, { observableBeforeNeeds: true, observe: ({ fresh }) => observeVmRemoval(run, vm, fresh) }, opts);
  });
  const storage = run.inv.spec.proxmox.storage.cloudInit;
  const facts = await run.facts.cluster();
  const shared = (pveNode: string) => isSharedStorage(facts, storage, pveNode);
  const nodes = seedNodes(run.inv, vms);
  // A shared storage shows every node the same files: one step, from the first node, after every VM.
  const seedStepNodes = [...nodes.filter((n) => !shared(n)), ...nodes.filter(shared).slice(0, 1)];
  const seedSteps = seedStepNodes.map((pveNode) => {
    const needs = vmSteps.filter((s) => shared(pveNode) || s.pveNode === pveNode).map((s) => s.id);
    const node: PlanStep = { id: `destroy-seeds:${pveNode}`, kind: "destroy-seeds", pveNode, needs };
    // The storage is there before its VMs go; the VMs that go are known from the check.
    return runnable(node, { observableBeforeNeeds: true, observe: ({ fresh }) => observeSeedRemoval(run, pveNode, { hostNames, check }, fresh) }, opts);
  });
  return [...vmSteps, ...seedSteps];
}
