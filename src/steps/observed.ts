// What a step found when it compared the live cluster with the spec: one line per thing it
// would create, change, remove or leave alone, each with its reason. `plan` prints these;
// `apply` prints the same lines and then makes them true.

/**
 * + create · ~ change in place · - remove · = nothing to do ·
 * ! needs what starbase never does silently (re-creation, another owner's VMID): the step fails.
 */
export type ChangeOp = "+" | "~" | "-" | "=" | "!";

export interface Change {
  op: ChangeOp;
  /** What the line is about: "VM server01 (210)", "image local:import/x.qcow2 on node01". */
  subject: string;
  /** For "~": the field that differs, as Proxmox names it (cores, net0, scsi0 size …). */
  field?: string;
  from?: string;
  to?: string;
  reason: string;
  /**
   * Reported only: nothing in this run acts on it (a VM the spec no longer names is listed with
   * "-" until scale-in exists). A confirmation of what apply removes skips these.
   */
  informational?: true;
  /** A "~" Proxmox has already been told about and keeps pending until the VM restarts: nothing for apply to do. */
  waitsForRestart?: boolean;
}

/** What observing one step yielded: the changes, and how to make them (absent = nothing to do). */
export interface Observed {
  changes: Change[];
  apply?: (ctx: ActContext) => Promise<void>;
}

/** What acting needs from the engine's step context. */
export interface ActContext {
  signal: AbortSignal;
  report(message: string): void;
}

/** A difference that needs a human decision (re-create, pick another VMID); never acted on. */
export class BlockedChangeError extends Error {
  override name = "BlockedChangeError";
  constructor(readonly changes: Change[]) {
    super(changes.map((c) => `${c.subject}: ${c.reason}`).join("\n"));
  }
}

export function unchanged(subject: string, reason: string): Change {
  return { op: "=", subject, reason };
}

/** "~ VM server01 (210) cores: 2 → 4 (differs from the spec)" */
export function formatChange(change: Change): string {
  const field = change.field === undefined ? "" : ` ${change.field}`;
  const values = change.from !== undefined || change.to !== undefined
    ? `: ${change.from ?? "(unset)"} → ${change.to ?? "(unset)"}` : "";
  return `${change.op} ${change.subject}${field}${values} (${change.reason})`;
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
