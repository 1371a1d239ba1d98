// One run at a time per cluster. A lock is one record that only one run can create (a Proxmox
// pool, a file created with O_EXCL on the first server …); it names its holder (user@host,
// pid, command, since) and carries a heartbeat the holder refreshes. Where the record lives is
// the implementation's business (LockStore); taking over, heartbeat, expiry and release are
// the same everywhere and live here.
//
// A lock is taken over only from a run that is gone: on this machine, when its process is gone
// (or has not beaten for the stale time, so that pid is not a starbase run any more); from
// another machine, after the stale time without heartbeat, or with --force-unlock after a few
// missed heartbeats. A live run is never displaced, forced or not.

import { randomUUID } from "node:crypto";

export interface LockHolder {
  user: string;
  host: string;
  pid: number;
  command: string;
  /** ISO 8601 */
  since: string;
  heartbeat: string;
  /** Tells this run's lock from another run's by the same user on the same machine. */
  run: string;
}

/** Who asks for the lock, named by the caller (the user comes from the command's environment). */
export type LockClaimant = Pick<LockHolder, "user" | "host" | "pid" | "command">;

export interface AcquireOptions {
  claimant: LockClaimant;
  /** Take the lock over from a run on another machine that has stopped beating (never from a live one). */
  force?: boolean;
  /** A lock whose heartbeat is older than this is abandoned. Default 15 min. */
  staleMs?: number;
  /** How often the holder refreshes its heartbeat. Default 60 s. */
  heartbeatMs?: number;
  /** Called when another run took the lock over: the caller must stop. */
  onLost?: (holder: LockHolder | undefined) => void;
  now?: () => number;
}

export interface HeldLock {
  readonly holder: LockHolder;
  /** The holder this run displaced (dead, stale or forced), if any. */
  readonly tookOverFrom?: LockHolder;
  /** Removes the lock, unless another run has taken it over meanwhile. */
  release(): Promise<void>;
}

/** The cluster's run lock, wherever it lives. */
export interface RunLock {
  /** The cluster it locks, as messages name it. */
  readonly cluster: string;
  /** Takes the lock or throws LockHeldError, which names the live holder and what to do. */
  acquire(opts: AcquireOptions): Promise<HeldLock>;
}

export type LockRead = { exists: false } | { exists: true; holder: LockHolder | undefined };

/**
 * Where a lock's record lives. Every call may be repeated after a lost answer: `create` that
 * did create but lost its answer is found out by the `read` that follows.
 */
export interface LockStore {
  /** Creates the record only when there is none (O_EXCL, `set -C`, mkdir, POST /pools); false when one exists. */
  create(holder: LockHolder): Promise<boolean>;
  /** The record, `holder` undefined when it is not one starbase wrote (damaged: treated as gone). */
  read(): Promise<LockRead>;
  /** Overwrites the record: a heartbeat, or taking over a gone run's lock. */
  write(holder: LockHolder): Promise<void>;
  /** Removes the record; one that is gone already counts as removed. */
  remove(): Promise<void>;
}

const DEFAULT_STALE_MS = 15 * 60_000;
const DEFAULT_HEARTBEAT_MS = 60_000;
/** --force-unlock: a run on another machine that missed this long (three heartbeats) is taken for dead. */
const FORCE_SILENCE_MS = 3 * DEFAULT_HEARTBEAT_MS;
const ATTEMPTS = 8;

export class LockHeldError extends Error {
  override name = "LockHeldError";
  constructor(readonly cluster: string, readonly holder: LockHolder, why: string, now: number) {
    super(`cluster ${cluster} is locked by ${describeHolder(holder, now)}: ${why}`);
  }
}

function describeHolder(holder: LockHolder, now: number): string {
  const age = Math.max(0, Math.round((now - Date.parse(holder.heartbeat)) / 1000));
  return `${holder.user}@${holder.host} (pid ${holder.pid}, ${holder.command}) since ${holder.since}, last heartbeat ${age} s ago`;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

/** The record's text as every store keeps it. */
export function holderText(holder: LockHolder): string {
  return JSON.stringify(holder);
}

/** The holder a record's text names, or undefined when it is not one starbase wrote. */
export function parseHolder(text: unknown): LockHolder | undefined {
  if (typeof text !== "string") return undefined;
  try {
    const h = JSON.parse(text) as Partial<LockHolder>;
    if (typeof h.user === "string" && typeof h.host === "string" && typeof h.pid === "number" && typeof h.since === "string"
      && typeof h.heartbeat === "string" && typeof h.run === "string") {
      return { user: h.user, host: h.host, pid: h.pid, command: typeof h.command === "string" ? h.command : "?", since: h.since, heartbeat: h.heartbeat, run: h.run };
    }
  } catch {
    // not ours or damaged: treated as a holder that is gone
  }
  return undefined;
}

/** kill(pid, 0): ESRCH means no such process; EPERM means one runs (under another user). */
function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

/** Why the holder's run counts as alive (and keeps the lock), or undefined when it is gone. */
function aliveBecause(holder: LockHolder, me: LockHolder, now: number, staleMs: number, force: boolean): string | undefined {
  const silentMs = now - Date.parse(holder.heartbeat);
  if (holder.host === me.host) {
    if (processGone(holder.pid) || silentMs > staleMs) return undefined;
    return `pid ${holder.pid} still runs on this machine; wait for that run to end, or end it (kill ${holder.pid}). `
      + "--force-unlock never takes the lock from a live run";
  }
  if (silentMs > (force ? Math.min(FORCE_SILENCE_MS, staleMs) : staleMs)) return undefined;
  if (force) {
    return `its heartbeat is recent, so that run lives; --force-unlock never takes the lock from a live run: wait for it to end `
      + `(a run counts as dead after ${minutes(FORCE_SILENCE_MS)} without heartbeat)`;
  }
  return `wait for that run to end. If it died, the lock is taken over after ${minutes(staleMs)} without heartbeat; `
    + `--force-unlock takes it over after ${minutes(FORCE_SILENCE_MS)}`;
}

/** A RunLock over a store: create exclusively, else take over a gone holder's record (last writer wins, read back). */
export function storeLock(cluster: string, store: LockStore): RunLock {
  return {
    cluster,
    async acquire(opts) {
      const now = opts.now ?? Date.now;
      const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
      const started = new Date(now()).toISOString();
      const me: LockHolder = { ...opts.claimant, since: started, heartbeat: started, run: randomUUID() };
      const beat = (): LockHolder => ({ ...me, heartbeat: new Date(now()).toISOString() });
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        if (await store.create(beat())) return held(store, me, beat, opts);
        const found = await store.read();
        if (!found.exists) continue;
        // A create whose answer was lost may have been ours.
        if (found.holder?.run === me.run) return held(store, me, beat, opts);
        const alive = found.holder === undefined ? undefined : aliveBecause(found.holder, me, now(), staleMs, opts.force === true);
        if (alive !== undefined) throw new LockHeldError(cluster, found.holder!, alive, now());
        await store.write(beat());
        const after = await store.read();
        if (after.exists && after.holder?.run === me.run) return held(store, me, beat, opts, found.holder);
      }
      throw new Error(`could not take the lock of cluster ${cluster} after ${ATTEMPTS} attempts; another run keeps taking it`);
    },
  };
}

function held(store: LockStore, me: LockHolder, beat: () => LockHolder, opts: AcquireOptions, tookOverFrom?: LockHolder): HeldLock {
  let released = false;
  const refresh = async () => {
    try {
      const found = await store.read();
      if (released) return;
      if (!found.exists || found.holder?.run !== me.run) {
        clearInterval(timer);
        opts.onLost?.(found.exists ? found.holder : undefined);
        return;
      }
      await store.write(beat());
    } catch {
      // A missed heartbeat is harmless; the lock only goes stale after many.
    }
  };
  const timer = setInterval(() => void refresh(), opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
  timer.unref();
  return {
    holder: me,
    ...(tookOverFrom !== undefined && { tookOverFrom }),
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      const found = await store.read();
      // Never remove a lock another run has taken over.
      if (!found.exists || found.holder?.run !== me.run) return;
      await store.remove();
    },
  };
}
