// The engine's public surface: what plan/, cli/ and ui/ may use.

export { errorMessage, isRetryable, RunCancelledError, StepTimeoutError } from "./errors.ts";
export type {
  EngineEvent,
  RunningStep,
  RunSummary,
  StepOutcome,
  StepRef,
  StepResult,
  WaitingStep,
} from "./events.ts";
export { runSteps } from "./run.ts";
export type { EngineOptions, Outcome, RetryPolicy, RunnableStep, StepContext } from "./types.ts";
