// The walker's per-step bookkeeping and the answer to "what runs, and what
// waits on what", which the heartbeat turns into a `waiting` event.

import { errorMessage, formatSeconds } from "./errors.ts";
import type { RunningStep, StepRef, StepResult, WaitingStep } from "./events.ts";
import type { LimitPool } from "./limits.ts";
import type { RunnableStep } from "./types.ts";

export interface StepState {
  step: RunnableStep;
  ref: StepRef;
  /** The step's limit names without duplicates. */
  limits: string[];
  /** pending: not started, or waiting for a slot after a backoff; backoff: between retries. */
  phase: "pending" | "running" | "backoff" | "done";
  attempts: number;
  firstStartAt?: number;
  attemptStartAt?: number;
  backoffUntil?: number;
  lastMessage?: string;
  lastError?: unknown;
  /** Set exactly while an attempt runs; aborting it aborts the step's ctx.signal. */
  controller?: AbortController;
  result?: StepResult;
}

export function describeWaiting(
  states: readonly StepState[],
  limits: LimitPool,
  concurrency: number,
  now: number,
): { running: RunningStep[]; waiting: WaitingStep[] } {
  const byId = new Map(states.map((s) => [s.step.id, s]));
  const running: RunningStep[] = [];
  const waiting: WaitingStep[] = [];
  for (const s of states) {
    if (s.phase === "running") {
      const entry: RunningStep = { ...s.ref, elapsedMs: now - (s.attemptStartAt ?? now), attempt: s.attempts };
      if (s.lastMessage !== undefined) entry.lastMessage = s.lastMessage;
      running.push(entry);
    }
  }
  const runningIds = running.map((r) => r.id);
  for (const s of states) {
    if (s.phase === "backoff") {
      const left = formatSeconds(Math.max(0, (s.backoffUntil ?? now) - now));
      const reason = `retries in ${left} s (attempt ${s.attempts} failed: ${errorMessage(s.lastError)})`;
      waiting.push({ ...s.ref, on: "backoff", blockers: [], reason });
      continue;
    }
    if (s.phase !== "pending") continue;
    const unfinished = s.step.needs.filter((id) => byId.get(id)?.phase !== "done");
    const blocker = limits.blocker(s.limits);
    if (unfinished.length > 0) {
      waiting.push({ ...s.ref, on: "needs", blockers: unfinished, reason: `waits for ${unfinished.join(", ")}` });
    } else if (blocker !== undefined) {
      const reason = `waits for limit ${blocker.limit} held by ${blocker.holders.join(", ")}`;
      waiting.push({ ...s.ref, on: "limit", limit: blocker.limit, blockers: blocker.holders, reason });
    } else {
      const reason = `waits for a free slot (concurrency ${concurrency}, all in use)`;
      waiting.push({ ...s.ref, on: "slot", blockers: runningIds, reason });
    }
  }
  return { running, waiting };
}
