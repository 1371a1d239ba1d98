// What plan (live), apply and destroy share once a phase is opened, whatever the phase: the
// phase's step families, its run (what it read while opening), and the cluster's run lock.
// Opening a phase (connecting, its preflight) is the phase's own file: plan/infra.ts.

import { errorMessage } from "../engine/index.ts";
import type { StepNode } from "../graph/types.ts";
import type { Inventory } from "../inventory/types.ts";
import type { LoadedSpec } from "../spec/load.ts";
import type { StepFamily } from "../steps/family.ts";
import { type HeldLock, type LockClaimant, LockHeldError, type LockHolder, type RunLock } from "../steps/lock.ts";
import type { RunSink } from "./walk.ts";

/** A spec that passed every check: where it was read from, and what it describes. */
export interface ValidCluster extends Pick<LoadedSpec, "file" | "positionOf"> {
  /** Secret files and the TLS CA are resolved relative to this directory. */
  dir: string;
  inventory: Inventory;
  /** The command's environment: secrets given as { env: NAME } are read from it. */
  env: Readonly<Record<string, string | undefined>>;
}

/** Who runs: named in the lock (the command is added when the lock is taken). */
export type RunIdentity = Omit<LockClaimant, "command">;

/** What every step of one run of a phase shares (the client, the facts read so far …). */
export interface PhaseRun<Run> {
  /** The same run with nothing read yet: under the lock everything is read again. */
  refreshed(): Run;
}

/** A phase: its steps, the families that implement them, and how its errors read. */
export interface Phase<Run> {
  name: "infra" | "cluster" | "all";
  /** The registry: one entry per step family, which names the kinds it implements. */
  families: readonly StepFamily<Run>[];
  /** The phase's steps in dependency order. */
  steps(run: Run): StepNode[];
  /** Capacities of the named limits its steps hold. */
  limits(run: Run): Record<string, number>;
  /** The error as the user should read it (a refusal that names a privilege gets its grant line). */
  explainError?(err: unknown, run: Run): unknown;
  /** An error after which no other step can succeed either: apply stops the whole run. */
  stopsRun?(err: unknown): boolean;
}

export interface LockRequest {
  command: string;
  force: boolean;
  /** Another run took the lock over: the caller must stop. */
  onLost(holder: LockHolder | undefined): void;
}

export interface Session<Run extends PhaseRun<Run>> {
  inventory: Inventory;
  phase: Phase<Run>;
  /** The run of the opening: what it read is kept for the look before acting. */
  run: Run;
  /** Takes the cluster lock; false when another run holds it or it could not be taken (the reason went to the sink). */
  lock(request: LockRequest): Promise<boolean>;
  /** Releases the lock (if taken) and closes the connections. */
  close(): Promise<void>;
}

/**
 * A session's lock: taken through `lock`, reported to the sink (a takeover too), released by
 * `release`. `explain` words a failure that is not "held by another run".
 */
export function sessionLock(lock: RunLock, who: RunIdentity, sink: RunSink, explain: (err: unknown) => string = errorMessage) {
  let held: HeldLock | undefined;
  return {
    async lock({ command, force, onLost }: LockRequest): Promise<boolean> {
      try {
        held = await lock.acquire({ claimant: { ...who, command }, force, onLost });
      } catch (err) {
        sink.error(err instanceof LockHeldError ? err.message : explain(err));
        return false;
      }
      const from = held.tookOverFrom;
      if (from !== undefined) sink.message(`took over the lock of cluster ${lock.cluster} from ${from.user}@${from.host} (pid ${from.pid}, since ${from.since})`);
      return true;
    },
    async release(): Promise<void> {
      await held?.release();
    },
  };
}
