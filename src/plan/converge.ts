// The infra phase as plan, apply and destroy run it: observe everything and act on nothing
// first; only a run that has work takes the cluster lock, observes again under it and acts.

import type { RunSummary } from "../engine/index.ts";
import { AuthError, PermissionError } from "../proxmox/index.ts";
import { type Change, formatChange } from "../steps/observed.ts";
import type { InfraRun } from "../steps/infra/context.ts";
import { checkDestroy } from "../steps/infra/destroy.ts";
import { PrivilegeError } from "../steps/infra/privileges.ts";
import type { InfraSession } from "./session.ts";
import { countSteps, type InfraSink, removalsOf, runLive, stepChanges, type StepChanges, type StepCounts } from "./walk.ts";
import { type ChangeLog, destroyRunnables, infraLimits, infraRunnables, INFRA_RETRY } from "./runnables.ts";

export interface InfraReport {
  ok: boolean;
  steps: StepChanges[];
  counts: StepCounts;
}

export interface InfraPlan {
  steps: StepChanges[];
  counts: StepCounts;
  /** Steps that would create, change or remove something, or list VMs the spec no longer names. */
  pending: number;
  /** Steps that could not observe, or are blocked. */
  failed: number;
}

/** What apply would do: every infra step observes and none acts. */
export async function planInfra(session: InfraSession, sink: InfraSink): Promise<InfraPlan> {
  const { steps } = await observeInfra(session.run, {}, sink);
  return planOf(steps);
}

function planOf(steps: StepChanges[]): InfraPlan {
  const counts = countSteps(steps);
  // Changes waiting for a restart and VMs not in the spec count as pending too: the spec and
  // Proxmox differ, even if apply leaves them.
  return { steps, counts, pending: counts.create + counts.change + counts.remove + counts.pendingRestart + counts.notInSpec, failed: counts.blocked + counts.failed };
}

/** Every infra step observes and records its changes; none acts. */
async function observeInfra(run: InfraRun, opts: { concurrency?: number; signal?: AbortSignal }, sink: InfraSink): Promise<{ summary: RunSummary; steps: StepChanges[] }> {
  const log: ChangeLog = new Map();
  const runnables = infraRunnables(run, { mode: "plan", log });
  const summary = await runLive(runnables, { ...opts, retry: INFRA_RETRY, stage: "observe" }, sink);
  return { summary, steps: stepChanges(runnables, log, summary) };
}

export interface ApplyOptions {
  concurrency?: number;
  forceUnlock: boolean;
  /** Aborted by the caller on Ctrl-C; apply aborts it on a lost lock or a missing privilege. */
  controller: AbortController;
  /**
   * Asked before the lock is taken when the plan removes anything ("-" lines of steps that act);
   * false stops with nothing done. A plan that only creates and changes is not asked about.
   */
  confirmRemovals(plan: InfraPlan, removals: Change[]): Promise<boolean>;
  /** --yes: removals found only under the lock are made too; without it they stop their step. */
  removeUnseen: boolean;
}

export type ApplyResult =
  /** Stopped while observing, not confirmed, or the lock was not taken (the sink has the reason): nothing was done. */
  | { outcome: "cancelled" }
  | { outcome: "not-confirmed" }
  | { outcome: "not-locked" }
  /** Nothing differed (or what was observed failed): no lock taken, nothing written. */
  | ({ outcome: "unchanged" } & InfraReport)
  | ({ outcome: "applied"; made: Change[] } & InfraReport);

export async function applyInfra(session: InfraSession, opts: ApplyOptions, sink: InfraSink): Promise<ApplyResult> {
  const { controller } = opts;
  const concurrency = opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {};
  // Observe everything and act on nothing first: a run with nothing to do writes nothing, not even its lock.
  const looked = await observeInfra(session.run, { ...concurrency, signal: controller.signal }, sink);
  if (looked.summary.cancelled) return { outcome: "cancelled" };
  if (!looked.summary.steps.some((s) => s.outcome === "changed")) {
    return { outcome: "unchanged", ok: looked.summary.ok, steps: looked.steps, counts: countSteps(looked.steps) };
  }
  const removals = removalsOf(looked.steps);
  if (removals.length > 0 && !(await opts.confirmRemovals(planOf(looked.steps), removals))) return { outcome: "not-confirmed" };
  // Under the lock a step may find a removal the look did not show (another run changed things meanwhile): without --yes it was never confirmed.
  const confirmed = new Set(removals.map(formatChange));
  const mayRemove = opts.removeUnseen ? undefined : (change: Change) => confirmed.has(formatChange(change));

  const locked = await session.lock({
    command: "apply --phase infra",
    force: opts.forceUnlock,
    onLost: (holder) => {
      sink.error(`the cluster lock was taken over${holder === undefined ? "" : ` by ${holder.user}@${holder.host} (pid ${holder.pid})`}; stopping`);
      controller.abort();
    },
  });
  if (!locked) return { outcome: "not-locked" };
  // Under the lock, read everything again: another run may have changed it since.
  const run = session.run.refreshed();
  const log: ChangeLog = new Map();
  const runnables = infraRunnables(run, {
    mode: "apply",
    log,
    ...(mayRemove !== undefined && { mayRemove }),
    // Without the privilege or the token nothing else will work either: stop instead of failing step by step.
    onError: (err) => {
      if (err instanceof PermissionError || err instanceof PrivilegeError || err instanceof AuthError) controller.abort();
    },
  });
  const summary = await runLive(runnables, { ...concurrency, limits: infraLimits(run), retry: INFRA_RETRY, stage: "act", signal: controller.signal }, sink);
  const steps = stepChanges(runnables, log, summary);
  const made = steps.filter((s) => s.acts && s.error === undefined).flatMap((s) => s.changes.filter((c) => c.op !== "=" && c.waitsForRestart !== true));
  return { outcome: "applied", ok: summary.ok, steps, counts: countSteps(steps), made };
}

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

export async function destroyInfra(session: InfraSession, opts: DestroyOptions, sink: InfraSink): Promise<DestroyResult> {
  const { controller } = opts;
  // Every VM is checked before anything goes, and again under the lock: one refusal, nothing is touched.
  const before = await checkDestroy(session.run);
  if (before.refusals.length > 0) return { outcome: "refused", refusals: before.refusals };
  const preview: ChangeLog = new Map();
  const planned = await destroyRunnables(session.run, before, { mode: "plan", log: preview });
  const previewSummary = await runLive(planned, { retry: INFRA_RETRY, stage: "observe", signal: controller.signal }, sink);
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
  const summary = await runLive(runnables, { retry: INFRA_RETRY, stage: "act", signal: controller.signal }, sink);
  const steps = stepChanges(runnables, log, summary);
  return { outcome: "destroyed", ok: summary.ok, steps, removed: removalsOf(steps) };
}
