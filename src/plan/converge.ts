// A phase as plan and apply run it: observe everything and act on nothing first; only a run
// that has work takes the cluster lock, observes again under it and acts. Nothing here knows
// which phase it runs.

import type { RunSummary } from "../engine/index.ts";
import { type Change, formatChange } from "../steps/observed.ts";
import { type ChangeLog, familyRunnables, type LiveOptions, RETRY } from "./runnables.ts";
import type { PhaseRun, Session } from "./session.ts";
import { countSteps, removalsOf, runLive, type RunSink, stepChanges, type StepChanges, type StepCounts } from "./walk.ts";

export interface RunReport {
  ok: boolean;
  steps: StepChanges[];
  counts: StepCounts;
}

export interface ConvergePlan {
  steps: StepChanges[];
  counts: StepCounts;
  /** Steps that would create, change or remove something, list VMs the spec no longer names, or wait for a step that would. */
  pending: number;
  /** Steps that could not observe, or are blocked. */
  failed: number;
}

/** What apply would do: every step of the phase observes and none acts. */
export async function planConverge<Run extends PhaseRun<Run>>(session: Session<Run>, sink: RunSink): Promise<ConvergePlan> {
  const { steps } = await observe(session, session.run, {}, sink);
  return planOf(steps);
}

function planOf(steps: StepChanges[]): ConvergePlan {
  const counts = countSteps(steps);
  // Changes waiting for a restart and VMs not in the spec count as pending too: the spec and
  // Proxmox differ, even if apply leaves them.
  const pending = counts.create + counts.change + counts.remove + counts.pendingRestart + counts.notInSpec + counts.knownAfter;
  return { steps, counts, pending, failed: counts.blocked + counts.failed };
}

/** Every step observes and records its changes; none acts. */
async function observe<Run extends PhaseRun<Run>>(session: Session<Run>, run: Run, opts: { concurrency?: number; signal?: AbortSignal }, sink: RunSink): Promise<{ summary: RunSummary; steps: StepChanges[] }> {
  const log: ChangeLog = new Map();
  const runnables = phaseRunnables(session, run, { mode: "plan", log });
  const summary = await runLive(runnables, { ...opts, retry: RETRY, stage: "observe" }, sink);
  return { summary, steps: stepChanges(runnables, log, summary) };
}

function phaseRunnables<Run extends PhaseRun<Run>>(session: Session<Run>, run: Run, opts: LiveOptions) {
  const { phase } = session;
  const explain = phase.explainError;
  return familyRunnables(phase.steps(run), phase.families, run, { ...opts, ...(explain !== undefined && { explainError: (err) => explain(err, run) }) });
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
  confirmRemovals(plan: ConvergePlan, removals: Change[]): Promise<boolean>;
  /** --yes: removals found only under the lock are made too; without it they stop their step. */
  removeUnseen: boolean;
}

export type ApplyResult =
  /** Stopped while observing, not confirmed, or the lock was not taken (the sink has the reason): nothing was done. */
  | { outcome: "cancelled" }
  | { outcome: "not-confirmed" }
  | { outcome: "not-locked" }
  /** Nothing differed (or what was observed failed): no lock taken, nothing written. */
  | ({ outcome: "unchanged" } & RunReport)
  | ({ outcome: "applied"; made: Change[] } & RunReport);

export async function converge<Run extends PhaseRun<Run>>(session: Session<Run>, opts: ApplyOptions, sink: RunSink): Promise<ApplyResult> {
  const { controller } = opts;
  const { phase } = session;
  const concurrency = opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {};
  // Observe everything and act on nothing first: a run with nothing to do writes nothing, not even its lock.
  const looked = await observe(session, session.run, { ...concurrency, signal: controller.signal }, sink);
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
    command: `apply --phase ${phase.name}`,
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
  const runnables = phaseRunnables(session, run, {
    mode: "apply",
    log,
    ...(mayRemove !== undefined && { mayRemove }),
    onError: (err) => {
      if (phase.stopsRun?.(err) === true) controller.abort();
    },
  });
  const summary = await runLive(runnables, { ...concurrency, limits: phase.limits(run), retry: RETRY, stage: "act", signal: controller.signal }, sink);
  const steps = stepChanges(runnables, log, summary);
  const made = steps.filter((s) => s.acts && s.error === undefined).flatMap((s) => s.changes.filter((c) => c.op !== "=" && c.waitsForRestart !== true));
  return { outcome: "applied", ok: summary.ok, steps, counts: countSteps(steps), made };
}
