// The infra phase as plan, apply and destroy run it: observe everything and act on nothing
// first; only a run that has work takes the cluster lock, observes again under it and acts.

import type { RunSummary } from "../engine/index.ts";
import { AuthError, PermissionError } from "../proxmox/index.ts";
import type { Change } from "../steps/changes.ts";
import type { InfraRun } from "../steps/context.ts";
import { PrivilegeError } from "../steps/privileges.ts";
import type { InfraSession } from "./infra-session.ts";
import { type ChangeCounts, countChanges, type InfraSink, runLive, stepChanges, type StepChanges } from "./live-run.ts";
import { type ChangeLog, destroyRunnables, infraLimits, infraRunnables, INFRA_RETRY } from "./live.ts";

export interface InfraReport {
  ok: boolean;
  steps: StepChanges[];
  counts: ChangeCounts;
}

export interface InfraPlan {
  steps: StepChanges[];
  counts: ChangeCounts;
  /** Things to create, change or remove. */
  pending: number;
  /** Steps that could not observe. */
  failed: number;
}

/** What apply would do: every infra step observes and none acts. */
export async function planInfra(session: InfraSession, sink: InfraSink): Promise<InfraPlan> {
  const { steps } = await observeInfra(session.run, {}, sink);
  const counts = countChanges(steps);
  return { steps, counts, pending: counts.create + counts.change + counts.remove, failed: steps.filter((s) => s.error !== undefined).length };
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
}

export type ApplyResult =
  /** Stopped while observing, or the lock was not taken (the sink has the reason): nothing was done. */
  | { outcome: "cancelled" }
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
    return { outcome: "unchanged", ok: looked.summary.ok, steps: looked.steps, counts: countChanges(looked.steps) };
  }

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
    // Without the privilege or the token nothing else will work either: stop instead of failing step by step.
    onError: (err) => {
      if (err instanceof PermissionError || err instanceof PrivilegeError || err instanceof AuthError) controller.abort();
    },
  });
  const summary = await runLive(runnables, { ...concurrency, limits: infraLimits(run), retry: INFRA_RETRY, stage: "act", signal: controller.signal }, sink);
  const steps = stepChanges(runnables, log, summary);
  const made = steps.filter((s) => s.error === undefined).flatMap((s) => s.changes.filter((c) => c.op !== "=" && c.waitsForRestart !== true));
  return { outcome: "applied", ok: summary.ok, steps, counts: countChanges(steps), made };
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
  | { outcome: "not-confirmed" }
  | { outcome: "not-locked" }
  | { outcome: "destroyed"; ok: boolean; steps: StepChanges[]; removed: Change[] };

export async function destroyInfra(session: InfraSession, opts: DestroyOptions, sink: InfraSink): Promise<DestroyResult> {
  const { controller } = opts;
  const preview: ChangeLog = new Map();
  const planned = await destroyRunnables(session.run, { mode: "plan", log: preview });
  const previewSummary = await runLive(planned, { retry: INFRA_RETRY, stage: "observe", signal: controller.signal }, sink);
  const removals = removed(stepChanges(planned, preview, previewSummary));
  if (removals.length === 0) return { outcome: "nothing-to-destroy" };
  const vms = removals.filter((c) => c.subject.startsWith("VM ")).length;
  if (!(await opts.confirm({ removals, vms, seedIsos: removals.length - vms }))) return { outcome: "not-confirmed" };

  if (!(await session.lock({ command: "destroy", force: opts.forceUnlock, onLost: () => controller.abort() }))) return { outcome: "not-locked" };
  // Under the lock, read again what is there.
  const log: ChangeLog = new Map();
  const runnables = await destroyRunnables(session.run.refreshed(), { mode: "apply", log });
  const summary = await runLive(runnables, { retry: INFRA_RETRY, stage: "act", signal: controller.signal }, sink);
  const steps = stepChanges(runnables, log, summary);
  return { outcome: "destroyed", ok: summary.ok, steps, removed: removed(steps.filter((s) => s.error === undefined)) };
}

function removed(steps: readonly StepChanges[]): Change[] {
  return steps.flatMap((s) => s.changes.filter((c) => c.op === "-"));
}
