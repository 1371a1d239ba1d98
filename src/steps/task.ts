// Dispatching a Proxmox task and waiting for it, with the step's progress line and signal,
// and the errors a step raises when a call fails.

import { errorMessage } from "../engine/index.ts";
import { ProxmoxError, type ProxmoxClient } from "../proxmox/index.ts";
import type { ActContext } from "./changes.ts";

/** Waits for the task a call started; calls that may answer null (finished synchronously) pass through. */
export async function awaitTask(client: ProxmoxClient, ctx: ActContext, what: string, upid: string | null): Promise<void> {
  if (upid === null) return;
  ctx.report(what);
  await client.waitTask(upid, { signal: ctx.signal });
}

/** The server's text of a failure: the task's exit status or the HTTP reason. */
export function failureText(err: unknown): string {
  if (err instanceof ProxmoxError) return err.reason;
  return errorMessage(err);
}

/**
 * The call may have done its work but the answer got lost, or it collided with work that was
 * already done (an earlier attempt of this very step). The step is run again, and a new
 * attempt observes before it acts.
 */
export class ObserveAgainError extends Error {
  override name = "ObserveAgainError";
  readonly retryable = true;
}
