// Running live steps and collecting, per step, what it found: the "+ ~ - = !" changes, the
// failure if any, or (plan) the step it waits for before it can look. Where progress and
// messages go is the caller's business (the sink).

import { type RetryPolicy, type RunnableStep, runSteps, type RunSummary } from "../engine/index.ts";
import { type StepNode, stepRef } from "../graph/types.ts";
import type { Change } from "../steps/observed.ts";
import type { Reporter } from "../ui/index.ts";
import { redact } from "../ui/redact.ts";
import { counted } from "../ui/words.ts";
import type { ChangeLog } from "./runnables.ts";

/** A live run either only observes (plan, the look before apply and destroy) or acts. */
export type LiveStage = "observe" | "act";

/** Where the flows (plan, apply, destroy) report while they run. */
export interface RunSink {
  /** Something the user should read, e.g. that a stale lock was taken over. */
  message(text: string): void;
  /** A failure the user must fix; the flow's result says that it failed. */
  error(text: string): void;
  /** The reporter for a run's engine events, or undefined to show none. */
  progress(stage: LiveStage): Promise<Reporter | undefined>;
}

export interface LiveRunOptions {
  concurrency?: number;
  limits?: Record<string, number>;
  retry: RetryPolicy;
  stage: LiveStage;
  /** Aborted to stop the run early: Ctrl-C, a missing privilege, a lost lock. */
  signal?: AbortSignal;
}

export async function runLive(steps: RunnableStep[], opts: LiveRunOptions, sink: RunSink): Promise<RunSummary> {
  const reporter = await sink.progress(opts.stage);
  try {
    return await runSteps(steps, {
      ...(opts.concurrency !== undefined && { concurrency: opts.concurrency }),
      ...(opts.limits !== undefined && { limits: opts.limits }),
      retry: opts.retry,
      ...(opts.signal !== undefined && { signal: opts.signal }),
      ...(reporter !== undefined && { onEvent: reporter.onEvent }),
    });
  } finally {
    reporter?.close();
  }
}

export interface StepChanges {
  id: string;
  kind: StepNode["kind"];
  host?: string;
  pveNode?: string;
  changes: Change[];
  /** True when the step acts (plan: would act) on what it found; false when it has nothing to do or was not observed. */
  acts: boolean;
  /** Plan: not observed, because it looks at what this step it needs makes, which has work to do. */
  knownAfter?: string;
  /** Why the step could not observe or act. */
  error?: string;
}

/** Per step, in graph order: what it found, and its failure if any. */
export function stepChanges(steps: readonly StepNode[], log: ChangeLog, summary: RunSummary): StepChanges[] {
  const results = new Map(summary.steps.map((s) => [s.id, s]));
  return steps.map((step) => {
    const result = results.get(step.id);
    const failed = result !== undefined && result.outcome !== "changed" && result.outcome !== "unchanged";
    const finding = log.get(step.id);
    const knownAfter = failed ? undefined : finding?.knownAfter;
    return {
      ...stepRef(step),
      changes: finding?.changes ?? [],
      acts: result?.outcome === "changed" && knownAfter === undefined,
      ...(knownAfter !== undefined && { knownAfter }),
      ...(failed && { error: redact(result.reason ?? result.outcome) }),
    };
  });
}

/** What a step does about what it found: the unit in which plan and apply count. */
type StepVerdict = "create" | "change" | "remove" | "unchanged" | "pendingRestart" | "notInSpec" | "knownAfter" | "blocked" | "failed";
export type StepCounts = Record<StepVerdict, number>;

/**
 * A step that acts creates when it has a "+" line, else changes when it has a "~" line, else
 * removes. A step that does not act is unchanged, unless what it found still differs from the
 * spec: changes Proxmox holds until the VM restarts (pendingRestart), or VMs of the cluster that
 * the spec no longer names (informational "-" lines: nothing removes them yet; notInSpec). A
 * step a plan could not observe yet is knownAfter. A step stopped by a "!" line is blocked; any
 * other error, failed.
 */
function stepVerdict(step: StepChanges): StepVerdict {
  const has = (op: Change["op"]) => step.changes.some((c) => c.op === op);
  if (step.error !== undefined) return has("!") ? "blocked" : "failed";
  if (step.knownAfter !== undefined) return "knownAfter";
  if (!step.acts) {
    if (step.changes.some((c) => c.waitsForRestart === true)) return "pendingRestart";
    return step.changes.some((c) => c.informational === true) ? "notInSpec" : "unchanged";
  }
  if (has("+")) return "create";
  return has("-") && !has("~") ? "remove" : "change";
}

export function countSteps(steps: readonly StepChanges[]): StepCounts {
  const counts: StepCounts = { create: 0, change: 0, remove: 0, unchanged: 0, pendingRestart: 0, notInSpec: 0, knownAfter: 0, blocked: 0, failed: 0 };
  for (const step of steps) counts[stepVerdict(step)] += 1;
  return counts;
}

/** "14 steps: 3 to create, 1 to change, 10 unchanged" (the parts that are not zero). */
export function formatStepCounts(counts: StepCounts): string {
  const parts: [number, string][] = [
    [counts.create, "to create"],
    [counts.change, "to change"],
    [counts.remove, "to remove"],
    [counts.unchanged, "unchanged"],
    [counts.pendingRestart, "waiting for a VM restart"],
    [counts.notInSpec, "listing VMs not in the spec (left running)"],
    [counts.knownAfter, "known after the steps they need act"],
    [counts.blocked, "blocked"],
    [counts.failed, "failed"],
  ];
  const total = parts.reduce((sum, [n]) => sum + n, 0);
  const shown = parts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
  return `${counted(total, "step")}${shown.length > 0 ? `: ${shown.join(", ")}` : ""}`;
}

/** The removals a run carries out: "-" lines of the steps that act (a listing-only step removes nothing). */
export function removalsOf(steps: readonly StepChanges[]): Change[] {
  return steps.filter((s) => s.acts && s.error === undefined).flatMap((s) => s.changes.filter((c) => c.op === "-"));
}
