// Everything the engine tells the outside world: events while it runs and the
// summary at the end. Reporters in ui/ consume these; nothing here is formatted.

export type StepOutcome = "changed" | "unchanged" | "failed" | "not-run" | "cancelled";

import type { StepRef } from "../graph/types.ts";

/** Identity of a step as events carry it; `kind` names its family, which the engine does not interpret. */
export type { StepRef };

export interface StepResult extends StepRef {
  outcome: StepOutcome;
  /** Why it failed, was not run or was cancelled; absent for changed/unchanged. */
  reason?: string;
  /** For a step not run because a step it (transitively) needs failed: that step's id. */
  upstream?: string;
  /** The last error thrown by the step itself, for callers that classify it. */
  error?: unknown;
  /**
   * For a failed step: true when a later run may get past the failure unchanged (the retry
   * policy accepts its error, or the attempt timed out, so its outcome is unknown); false when
   * something must be fixed first.
   */
  retryable?: boolean;
  attempts: number;
  /** From the first start to the end; 0 for a step that never started. */
  durationMs: number;
}

export interface RunSummary {
  /** True when every step ended changed or unchanged. */
  ok: boolean;
  cancelled: boolean;
  durationMs: number;
  /** In input order. */
  steps: StepResult[];
  counts: Record<StepOutcome, number>;
}

export interface RunningStep extends StepRef {
  elapsedMs: number;
  attempt: number;
  lastMessage?: string;
}

/** Why a step that has not started yet is still waiting. */
export interface WaitingStep extends StepRef {
  /** needs: unfinished dependencies; limit: a named limit is full; slot: the global concurrency is used up; backoff: between retries. */
  on: "needs" | "limit" | "slot" | "backoff";
  /** The steps it waits for (needs) or that hold what it needs (limit, slot). */
  blockers: string[];
  /** The full limit's name when on = "limit". */
  limit?: string;
  /** Human sentence, e.g. "waits for limit vm-create:node01 held by vm:server01". */
  reason: string;
}

interface At {
  /** Epoch milliseconds. */
  at: number;
}

export type EngineEvent =
  | (At & { type: "run-start"; steps: StepRef[]; concurrency: number })
  | (At & StepRef & { type: "step-start"; attempt: number })
  | (At & StepRef & { type: "step-progress"; message: string })
  | (At & StepRef & { type: "step-retry"; attempt: number; delayMs: number; reason: string })
  | (At & StepRef & { type: "step-end"; outcome: StepOutcome; durationMs: number; attempts: number; reason?: string })
  | (At & StepRef & { type: "step-skip"; outcome: "not-run" | "cancelled"; reason: string; upstream?: string })
  | (At & { type: "waiting"; quietMs: number; running: RunningStep[]; waiting: WaitingStep[] })
  | (At & { type: "run-end"; summary: RunSummary });
