// Errors the engine itself raises. Step failures are never thrown out of
// runSteps; these classes let a caller (and isRetryable) tell them apart.

/** An attempt ran longer than its step's timeoutMs. */
export class StepTimeoutError extends Error {
  override name = "StepTimeoutError";
  constructor(readonly timeoutMs: number) {
    super(`timed out after ${formatSeconds(timeoutMs)} s`);
  }
}

/** The run was cancelled and the grace period for running steps ended. */
export class RunCancelledError extends Error {
  override name = "RunCancelledError";
}

/**
 * The one test of retryability for steps: the error says `retryable: true` (a Proxmox answer
 * that may pass later, an ObserveAgainError …); anything else is final.
 */
export function isRetryable(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { retryable?: unknown }).retryable === true;
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** 30000 → "30", 1500 → "1.5", 50 → "0.05". */
export function formatSeconds(ms: number): string {
  return String(Math.round(ms) / 1000);
}
