// Running live steps and collecting, per step, what it found: the "+ ~ - = !" changes and the
// failure, if any. Where progress and messages go is the caller's business (the sink).

import { type RetryPolicy, type RunnableStep, runSteps, type RunSummary } from "../engine/index.ts";
import type { StepNode } from "../graph/types.ts";
import type { Change } from "../steps/changes.ts";
import type { Reporter } from "../ui/index.ts";
import { redact } from "../ui/redact.ts";
import type { ChangeLog } from "./live.ts";

/** A live run either only observes (plan, the look before apply and destroy) or acts. */
export type LiveStage = "observe" | "act";

/** Where the infra flows report while they run. */
export interface InfraSink {
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

export async function runLive(steps: RunnableStep[], opts: LiveRunOptions, sink: InfraSink): Promise<RunSummary> {
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
  /** Why the step could not observe or act. */
  error?: string;
}

/** Per step, in graph order: what it found, and its failure if any. */
export function stepChanges(steps: readonly StepNode[], log: ChangeLog, summary: RunSummary): StepChanges[] {
  const results = new Map(summary.steps.map((s) => [s.id, s]));
  return steps.map((step) => {
    const result = results.get(step.id);
    const failed = result !== undefined && result.outcome !== "changed" && result.outcome !== "unchanged";
    return {
      id: step.id,
      kind: step.kind,
      ...(step.host !== undefined && { host: step.host }),
      ...(step.pveNode !== undefined && { pveNode: step.pveNode }),
      changes: log.get(step.id) ?? [],
      ...(failed && { error: redact(result.reason ?? result.outcome) }),
    };
  });
}

/** Per kind of change; `notInSpec`: VMs of the cluster the spec no longer names, reported and left alone. */
export type ChangeCounts = Record<"create" | "change" | "remove" | "unchanged" | "blocked" | "notInSpec", number>;

export function countChanges(steps: readonly StepChanges[]): ChangeCounts {
  const all = steps.flatMap((s) => s.changes);
  const acted = all.filter((c) => c.informational !== true);
  const count = (op: Change["op"]) => acted.filter((c) => c.op === op).length;
  return { create: count("+"), change: count("~"), remove: count("-"), unchanged: count("="), blocked: count("!"), notInSpec: all.length - acted.length };
}
