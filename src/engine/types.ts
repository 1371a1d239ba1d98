// What the engine needs from a step and from its caller. The engine schedules
// any DAG of steps; it knows nothing of Proxmox, SSH or RKE2.

import type { StepNode } from "../graph/types.ts";
import type { EngineEvent } from "./events.ts";

export type Outcome = "changed" | "unchanged";

export interface StepContext {
  /** Aborted on timeout, or when a cancelled run's grace period ends. */
  signal: AbortSignal;
  /** One progress line, e.g. "waiting for task qmcreate (12 s)". */
  report(message: string): void;
  /** 1 for the first attempt, 2 for the first retry … */
  attempt: number;
  /**
   * The step's needs that ended "changed" in this run. In a walk that only observes, a need's
   * "changed" means it has work to do: what it would make is not there yet.
   */
  changedNeeds: readonly string[];
}

export interface RunnableStep extends StepNode {
  run(ctx: StepContext): Promise<Outcome>;
  /** Per attempt; when it passes, ctx.signal aborts and the attempt fails with StepTimeoutError. */
  timeoutMs?: number;
}

export interface RetryPolicy {
  /** Total attempts, the first included (1 = never retry). */
  attempts: number;
  baseMs: number;
  maxMs: number;
  /** Only errors this accepts are retried; StepTimeoutError is passed here too. */
  isRetryable(err: unknown): boolean;
}

export interface EngineOptions {
  /** Steps running at once, all kinds together. Default 8. */
  concurrency?: number;
  /** Capacity per named limit ("vm-create:node01" → 1); a name a step holds but not listed here has capacity 1. */
  limits?: Record<string, number>;
  /** Exponential backoff with full jitter; without it a failure is final. */
  retry?: RetryPolicy;
  /** Ctrl-C: nothing new starts; running steps may finish within cancelGraceMs, then they are aborted. */
  signal?: AbortSignal;
  /** How long running steps may go on after cancellation. Default 30 s. */
  cancelGraceMs?: number;
  /** Quiet time (no step started, ended, skipped or retried) after which a `waiting` event is emitted, and again every such period. Default 10 s. */
  heartbeatMs?: number;
  onEvent?: (e: EngineEvent) => void;
  /** Jitter source in [0, 1); injectable for tests. */
  random?: () => number;
  /** Clock in epoch milliseconds; injectable for tests. */
  now?: () => number;
}
