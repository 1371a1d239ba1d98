// Running live steps from a command: progress through ui/'s reporters, Ctrl-C cancels (running
// steps get the engine's grace period, then the caller releases the lock), and what each step
// found is printed as "+ ~ - = !" lines.

import type { RunnableStep, RunSummary } from "../engine/index.ts";
import type { RetryPolicy } from "../engine/index.ts";
import type { StepNode } from "../graph/types.ts";
import type { ChangeLog } from "../plan/live.ts";
import type { Change } from "../steps/changes.ts";
import { redact } from "../ui/redact.ts";
import type { Output } from "./output.ts";

export interface LiveRunOptions {
  concurrency?: number;
  limits?: Record<string, number>;
  retry: RetryPolicy;
  /** Show engine progress (apply, destroy); plan shows it on a terminal only. */
  progress: "always" | "tty";
  /** Aborted to stop the run early: Ctrl-C (cancelOnInterrupt), a missing privilege, a lost lock. */
  controller: AbortController;
}

export async function runLive(out: Output, steps: RunnableStep[], opts: LiveRunOptions): Promise<RunSummary> {
  const { runSteps } = await import("../engine/index.ts");
  const { pickReporter } = await import("../ui/index.ts");
  const progress = out.progress();
  const show = opts.progress === "always" || (!out.json && progress.isTTY);
  const reporter = show
    ? pickReporter({ output: out.json ? "json" : "text", stream: progress.stream, isTTY: progress.isTTY, noColor: progress.noColor })
    : undefined;
  try {
    return await runSteps(steps, {
      ...(opts.concurrency !== undefined && { concurrency: opts.concurrency }),
      ...(opts.limits !== undefined && { limits: opts.limits }),
      retry: opts.retry,
      signal: opts.controller.signal,
      ...(reporter !== undefined && { onEvent: reporter.onEvent }),
    });
  } finally {
    reporter?.close();
  }
}

/**
 * Ctrl-C (and SIGTERM) cancel the run instead of killing the process, so that running steps
 * get the engine's grace period and the lock is released. A second one kills at once.
 * Returns the function that removes the handlers.
 */
export function cancelOnInterrupt(out: Output, controller: AbortController): () => void {
  const interrupt = () => {
    out.message("interrupted: no new steps start; running ones get a moment to finish, then the lock is released (Ctrl-C again to quit at once)");
    controller.abort();
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  return () => {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  };
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

export function countChanges(steps: readonly StepChanges[]): Record<"create" | "change" | "remove" | "unchanged" | "blocked", number> {
  const all = steps.flatMap((s) => s.changes);
  const count = (op: Change["op"]) => all.filter((c) => c.op === op).length;
  return { create: count("+"), change: count("~"), remove: count("-"), unchanged: count("="), blocked: count("!") };
}

/** Failed steps as error lines (the reporter shows them only when it ran). */
export function reportFailures(out: Output, steps: readonly StepChanges[]): void {
  for (const step of steps) {
    if (step.error !== undefined) out.error(`${step.id}: ${step.error}`);
  }
}
