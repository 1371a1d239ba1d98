// Waiting for the task a call started, with the caller's progress line and signal, and the
// server's text of a failure.

import { ProxmoxError, type ProxmoxClient } from "./index.ts";

/** Who waits: a step's act context fits (its signal and its progress line). */
export interface TaskWaiter {
  signal: AbortSignal;
  report(message: string): void;
}

/** Waits for the task a call started; calls that may answer null (finished synchronously) pass through. */
export async function awaitTask(client: ProxmoxClient, waiter: TaskWaiter, what: string, upid: string | null): Promise<void> {
  if (upid === null) return;
  waiter.report(what);
  await client.waitTask(upid, { signal: waiter.signal });
}

/** The server's text of a failure: the task's exit status or the HTTP reason. */
export function failureText(err: unknown): string {
  if (err instanceof ProxmoxError) return err.reason;
  return err instanceof Error ? err.message : String(err);
}
