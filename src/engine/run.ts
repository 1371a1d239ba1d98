// The walker: starts every step whose needs succeeded as soon as a global slot
// and all its named limits are free (Terraform's dag walk with a semaphore),
// retries retryable failures, isolates failed branches and never hangs silently.

import { errorMessage, formatSeconds, RunCancelledError, StepTimeoutError } from "./errors.ts";
import type { EngineEvent, RunSummary, StepOutcome } from "./events.ts";
import { LimitPool } from "./limits.ts";
import { topologicalOrder } from "../graph/order.ts";
import { stepRef } from "../graph/types.ts";
import { backoffDelay, checkRetryPolicy } from "./retry.ts";
import type { EngineOptions, Outcome, RunnableStep, StepContext } from "./types.ts";
import { describeWaiting, type StepState } from "./waits.ts";

const DEFAULT_CONCURRENCY = 8;
const DEFAULT_CANCEL_GRACE_MS = 30_000;
const DEFAULT_HEARTBEAT_MS = 10_000;

type Timer = ReturnType<typeof setTimeout>;

/**
 * Runs the steps and resolves with what happened to each. Step failures are
 * collected in the summary, never thrown; only a malformed graph (duplicate id,
 * unknown need, cycle) or invalid options reject.
 */
export async function runSteps(steps: RunnableStep[], opts: EngineOptions = {}): Promise<RunSummary> {
  // Any list of steps may arrive here, not only plan/'s: refuse a non-DAG before anything starts.
  topologicalOrder(steps);
  return new Walk(steps, opts).run();
}

class Walk {
  private readonly states: StepState[];
  private readonly byId: Map<string, StepState>;
  private readonly dependents = new Map<string, StepState[]>();
  private readonly limits: LimitPool;
  private readonly concurrency: number;
  private readonly graceMs: number;
  private readonly heartbeatMs: number;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly timers = new Map<StepState, Timer>();
  private readonly startedAt: number;
  private lastChangeAt: number;
  private running = 0;
  private open: number;
  private cancelled = false;
  private heartbeat: Timer | undefined;
  private graceTimer: Timer | undefined;
  private resolve: ((summary: RunSummary) => void) | undefined;

  constructor(
    steps: RunnableStep[],
    private readonly opts: EngineOptions,
  ) {
    this.concurrency = opts.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) {
      throw new RangeError(`concurrency must be a whole number of at least 1, got ${this.concurrency}`);
    }
    if (opts.retry !== undefined) checkRetryPolicy(opts.retry);
    this.limits = new LimitPool(opts.limits);
    this.graceMs = opts.cancelGraceMs ?? DEFAULT_CANCEL_GRACE_MS;
    this.heartbeatMs = opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? Math.random;
    this.states = steps.map((step) => ({
      step,
      ref: stepRef(step),
      limits: [...new Set(step.limits ?? [])],
      phase: "pending",
      attempts: 0,
    }));
    this.byId = new Map(this.states.map((s) => [s.step.id, s]));
    for (const s of this.states) {
      for (const need of new Set(s.step.needs)) {
        const list = this.dependents.get(need) ?? [];
        list.push(s);
        this.dependents.set(need, list);
      }
    }
    this.open = this.states.length;
    this.startedAt = this.now();
    this.lastChangeAt = this.startedAt;
  }

  run(): Promise<RunSummary> {
    return new Promise((resolve) => {
      this.resolve = resolve;
      this.emit({ type: "run-start", steps: this.states.map((s) => s.ref), concurrency: this.concurrency });
      const signal = this.opts.signal;
      if (signal?.aborted) this.cancel();
      else signal?.addEventListener("abort", this.onAbort, { once: true });
      this.armHeartbeat();
      this.pump();
    });
  }

  private readonly onAbort = (): void => this.cancel();

  /** Starts, in input order, every step that may start now. */
  private pump(): void {
    if (!this.cancelled) {
      for (const s of this.states) {
        if (this.running >= this.concurrency) break;
        if (s.phase === "pending" && this.needsMet(s) && this.limits.blocker(s.limits) === undefined) this.start(s);
      }
    }
    this.finishIfDone();
  }

  private needsMet(s: StepState): boolean {
    return s.step.needs.every((id) => succeeded(this.byId.get(id)?.result?.outcome));
  }

  private start(s: StepState): void {
    const now = this.now();
    s.phase = "running";
    s.attempts += 1;
    s.firstStartAt ??= now;
    s.attemptStartAt = now;
    s.lastMessage = undefined;
    this.running += 1;
    this.limits.acquire(s.step.id, s.limits);
    const controller = new AbortController();
    s.controller = controller;
    const ctx: StepContext = {
      signal: controller.signal,
      attempt: s.attempts,
      changedNeeds: [...new Set(s.step.needs)].filter((id) => this.byId.get(id)?.result?.outcome === "changed"),
      report: (message) => {
        if (s.controller !== controller) return;
        s.lastMessage = message;
        this.emit({ type: "step-progress", ...s.ref, message });
      },
    };
    this.touch();
    this.emit({ type: "step-start", ...s.ref, attempt: s.attempts });

    const timeoutMs = s.step.timeoutMs;
    if (timeoutMs !== undefined) {
      this.setTimer(s, timeoutMs, () => {
        const err = new StepTimeoutError(timeoutMs);
        controller.abort(err);
        this.attemptFailed(s, controller, err);
      });
    }
    let attempt: Promise<Outcome>;
    try {
      attempt = s.step.run(ctx);
    } catch (err) {
      attempt = Promise.reject(err);
    }
    attempt.then(
      (outcome) => this.attemptSucceeded(s, controller, outcome),
      (err: unknown) => this.attemptFailed(s, controller, err),
    );
  }

  /** Frees what the attempt held; false when the attempt already ended (timeout, cancellation). */
  private endAttempt(s: StepState, controller: AbortController): boolean {
    if (s.controller !== controller) return false;
    s.controller = undefined;
    this.clearTimer(s);
    this.limits.release(s.step.id, s.limits);
    this.running -= 1;
    return true;
  }

  private attemptSucceeded(s: StepState, controller: AbortController, outcome: Outcome): void {
    if (!this.endAttempt(s, controller)) return;
    this.complete(s, outcome);
    this.pump();
  }

  private attemptFailed(s: StepState, controller: AbortController, err: unknown): void {
    if (!this.endAttempt(s, controller)) return;
    s.lastError = err;
    const retry = this.opts.retry;
    if (!this.cancelled && retry !== undefined && s.attempts < retry.attempts && retry.isRetryable(err)) {
      const delayMs = backoffDelay(s.attempts, retry, this.random);
      s.phase = "backoff";
      s.backoffUntil = this.now() + delayMs;
      this.touch();
      this.emit({ type: "step-retry", ...s.ref, attempt: s.attempts, delayMs, reason: errorMessage(err) });
      this.setTimer(s, delayMs, () => {
        s.phase = "pending";
        this.pump();
      });
    } else {
      this.complete(s, "failed", errorMessage(err));
      this.skipDependents(s);
    }
    this.pump();
  }

  private complete(s: StepState, outcome: StepOutcome, reason?: string, upstream?: string): void {
    const durationMs = s.firstStartAt === undefined ? 0 : this.now() - s.firstStartAt;
    s.phase = "done";
    s.result = { ...s.ref, outcome, attempts: s.attempts, durationMs };
    if (reason !== undefined) s.result.reason = reason;
    if (upstream !== undefined) s.result.upstream = upstream;
    if (s.lastError !== undefined) s.result.error = s.lastError;
    if (outcome === "failed") s.result.retryable = this.mayPassLater(s.lastError);
    this.open -= 1;
    this.touch();
    if (outcome === "not-run" || (outcome === "cancelled" && s.attempts === 0)) {
      const skip = { type: "step-skip", ...s.ref, outcome, reason: reason ?? outcome } as const;
      this.emit(upstream === undefined ? skip : { ...skip, upstream });
    } else {
      const end = { type: "step-end", ...s.ref, outcome, durationMs, attempts: s.attempts } as const;
      this.emit(reason === undefined ? end : { ...end, reason });
    }
  }

  /** A failure a later run may get past unchanged: one the retry policy accepts, or a timeout (its outcome is unknown). */
  private mayPassLater(err: unknown): boolean {
    return err instanceof StepTimeoutError || this.opts.retry?.isRetryable(err) === true;
  }

  /** Marks every step that transitively needs `failed` as not run, in input order. */
  private skipDependents(failed: StepState): void {
    const doomed = new Set<StepState>();
    const queue = [...(this.dependents.get(failed.step.id) ?? [])];
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      if (doomed.has(next) || next.phase !== "pending") continue;
      doomed.add(next);
      queue.push(...(this.dependents.get(next.step.id) ?? []));
    }
    for (const s of this.states) {
      if (doomed.has(s)) this.complete(s, "not-run", `upstream failed: ${failed.step.id}`, failed.step.id);
    }
  }

  private cancel(): void {
    if (this.cancelled || this.resolve === undefined) return;
    this.cancelled = true;
    for (const s of this.states) {
      if (s.phase === "pending" && s.attempts === 0) {
        this.complete(s, "cancelled", "run cancelled before it started");
      } else if (s.phase === "pending" || s.phase === "backoff") {
        this.clearTimer(s);
        this.complete(s, "cancelled", `run cancelled before a retry (last error: ${errorMessage(s.lastError)})`);
      }
    }
    if (this.running > 0) this.graceTimer = setTimeout(() => this.abortRunning(), this.graceMs);
    this.finishIfDone();
  }

  /** The grace period ended: abort what still runs and end the run without waiting for it. */
  private abortRunning(): void {
    for (const s of this.states) {
      const controller = s.controller;
      if (controller === undefined || !this.endAttempt(s, controller)) continue;
      controller.abort(new RunCancelledError("run cancelled"));
      this.complete(s, "cancelled", `aborted ${formatSeconds(this.graceMs)} s after the run was cancelled`);
    }
    this.finishIfDone();
  }

  private finishIfDone(): void {
    const resolve = this.resolve;
    if (this.open > 0 || resolve === undefined) return;
    this.resolve = undefined;
    clearTimeout(this.heartbeat);
    clearTimeout(this.graceTimer);
    this.opts.signal?.removeEventListener("abort", this.onAbort);
    const summary = this.summary();
    this.emit({ type: "run-end", summary });
    resolve(summary);
  }

  private summary(): RunSummary {
    const counts: Record<StepOutcome, number> = { changed: 0, unchanged: 0, failed: 0, "not-run": 0, cancelled: 0 };
    const steps = this.states.map((s) => {
      if (s.result === undefined) throw new Error(`internal: step ${s.step.id} ended without a result`);
      counts[s.result.outcome] += 1;
      return s.result;
    });
    return {
      ok: !this.cancelled && steps.every((r) => succeeded(r.outcome)),
      cancelled: this.cancelled,
      durationMs: this.now() - this.startedAt,
      steps,
      counts,
    };
  }

  /** Something happened: the heartbeat starts counting quiet time again. */
  private touch(): void {
    this.lastChangeAt = this.now();
    this.armHeartbeat();
  }

  // Progress messages do not count as a change: a step that keeps reporting but
  // never ends is exactly the silent hang the heartbeat exists to expose.
  private armHeartbeat(): void {
    clearTimeout(this.heartbeat);
    if (this.resolve === undefined) return;
    this.heartbeat = setTimeout(() => {
      const now = this.now();
      this.emit({
        type: "waiting",
        quietMs: now - this.lastChangeAt,
        ...describeWaiting(this.states, this.limits, this.concurrency, now),
      });
      this.armHeartbeat();
    }, this.heartbeatMs);
  }

  private setTimer(s: StepState, ms: number, fire: () => void): void {
    this.clearTimer(s);
    this.timers.set(
      s,
      setTimeout(() => {
        this.timers.delete(s);
        fire();
      }, ms),
    );
  }

  private clearTimer(s: StepState): void {
    clearTimeout(this.timers.get(s));
    this.timers.delete(s);
  }

  private emit(e: DistributiveOmit<EngineEvent, "at">): void {
    this.opts.onEvent?.({ ...e, at: this.now() } as EngineEvent);
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;


function succeeded(outcome: StepOutcome | undefined): boolean {
  return outcome === "changed" || outcome === "unchanged";
}
