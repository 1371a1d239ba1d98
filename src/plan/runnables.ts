// Each step of the graph with its observe-then-act implementation, ready for the engine. `plan`
// (and the look before apply and destroy) runs the steps in "plan" mode: observe, record, act on
// nothing. `apply` runs them in "apply" mode: observe, record, act on a difference.

import { isRetryable, type Outcome, type RetryPolicy, type RunnableStep, type StepContext } from "../engine/index.ts";
import type { StepNode } from "../graph/types.ts";
import type { ObserveContext, StepFamily } from "../steps/family.ts";
import { BlockedChangeError, type Change, formatChange, type Observed } from "../steps/observed.ts";

export type LiveMode = "plan" | "apply";

/** What a step found when it last observed (a retried step replaces its entry). */
export interface Finding {
  changes: Change[];
  /**
   * Plan only: the step was not observed because it looks at what this need makes, and the
   * need has work to do; what the step finds is known after that need acts.
   */
  knownAfter?: string;
}

/** Findings per step id. */
export type ChangeLog = Map<string, Finding>;

/** Retries only what says it may pass on its own (lost answers, lock timeouts); every retry observes again before acting. */
export const RETRY: RetryPolicy = { attempts: 8, baseMs: 500, maxMs: 10_000, isRetryable };

export interface LiveOptions {
  mode: LiveMode;
  log: ChangeLog;
  /** Sees every error a step throws (apply stops the whole run on a missing privilege). */
  onError?: (err: unknown) => void;
  /** The error as the user should read it (a refusal that names a privilege gets its grant line). */
  explainError?: (err: unknown) => unknown;
  /** apply: whether a removal may be made; one that may not stops its step. Absent: every removal may. */
  mayRemove?: (change: Change) => boolean;
}

/** A step found a removal under the lock that the confirmed plan did not show. Not retried: the user must see it first. */
export class UnconfirmedRemovalError extends Error {
  override name = "UnconfirmedRemovalError";
  constructor(readonly changes: Change[]) {
    super(`would remove what the confirmed plan did not show: ${changes.map(formatChange).join("; ")}; `
      + "nothing was removed; run apply again to see the new plan (or pass --yes)");
  }
}

/** How one step observes: through its family, or a one-off (destroy's steps act on what its check found). */
export type StepObserver = Pick<StepFamily<unknown>, "timeoutMs" | "observableBeforeNeeds"> & {
  observe(ctx: ObserveContext): Promise<Observed>;
};

export function runnable(node: StepNode, observer: StepObserver, opts: LiveOptions): RunnableStep {
  const { limits, ...rest } = node;
  return {
    ...rest,
    // Observing needs no creation slot.
    ...(opts.mode === "apply" && limits !== undefined && { limits }),
    ...(observer.timeoutMs !== undefined && { timeoutMs: observer.timeoutMs }),
    async run(ctx: StepContext) {
      try {
        return await observeAndAct(node, ctx, observer, opts);
      } catch (err) {
        opts.onError?.(err);
        throw opts.explainError === undefined ? err : opts.explainError(err);
      }
    },
  };
}

async function observeAndAct(node: StepNode, ctx: StepContext, observer: StepObserver, { mode, log, mayRemove }: LiveOptions): Promise<Outcome> {
  const upstream = ctx.changedNeeds[0];
  if (mode === "plan" && upstream !== undefined && observer.observableBeforeNeeds !== true) {
    // What it would look at does not exist yet. "changed": it has work as far as anyone can tell,
    // so its own dependents wait for it in the same way.
    log.set(node.id, { changes: [], knownAfter: upstream });
    return "changed";
  }
  // A retry may follow a request whose outcome is unknown: read again, never the cache.
  const observed = await observer.observe({ fresh: ctx.attempt > 1, report: ctx.report });
  log.set(node.id, { changes: observed.changes });
  const blocked = observed.changes.filter((c) => c.op === "!");
  if (blocked.length > 0) throw new BlockedChangeError(blocked);
  if (observed.apply === undefined) return "unchanged";
  if (mode === "plan") return "changed";
  const unconfirmed = mayRemove === undefined ? [] : observed.changes.filter((c) => c.op === "-" && !mayRemove(c));
  if (unconfirmed.length > 0) throw new UnconfirmedRemovalError(unconfirmed);
  for (const change of observed.changes.filter((c) => c.op !== "=")) ctx.report(formatChange(change));
  await observed.apply(ctx);
  return "changed";
}

/** Each step with the family that implements its kind; a kind without one is a bug of the phase's registry. */
export function familyRunnables<Run>(steps: readonly StepNode[], families: readonly StepFamily<Run>[], run: Run, opts: LiveOptions): RunnableStep[] {
  const byKind = new Map(families.flatMap((family) => family.kinds.map((kind) => [kind, family] as const)));
  return steps.map((node) => {
    const family = byKind.get(node.kind);
    if (family === undefined) throw new Error(`internal: no step family implements kind ${node.kind} (step ${node.id})`);
    const observer: StepObserver = {
      ...(family.timeoutMs !== undefined && { timeoutMs: family.timeoutMs }),
      ...(family.observableBeforeNeeds !== undefined && { observableBeforeNeeds: family.observableBeforeNeeds }),
      observe: (ctx) => family.observe(run, node, ctx),
    };
    return runnable(node, observer, opts);
  });
}
