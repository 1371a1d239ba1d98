// One run at a time per cluster, through Proxmox pools, with no SSH and no local state.
// The pool starbase-lock-<cluster> is created once and never deleted: Proxmox deletes every
// permission on a pool with the pool (pve-manager API2/Pool.pm, delete_pool_acl), so a grant
// on it must outlive the runs. The lock itself is its sub-pool starbase-lock-<cluster>/run:
// POST /pools creates it or fails with "already exists", atomically, and its comment names
// who runs (user@host, pid, command, since) with a heartbeat the holder refreshes. Release
// deletes the sub-pool (deleting a nested pool leaves every grant alone).
//
// A lock is taken over only from a run that is gone: on this machine, when its process is
// gone (or has not beaten for the stale time, so that pid is not a starbase run any more);
// from another machine, after the stale time without heartbeat, or with --force-unlock after
// a few missed heartbeats. A live run is never displaced, forced or not.

import { randomUUID } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { isRetryable, NotFoundError, PermissionError, type ProxmoxClient } from "../../proxmox/index.ts";
import { retrying } from "../../proxmox/retrying.ts";
import { lockPoolId } from "./lock-pool.ts";
import { PrivilegeError } from "./privileges.ts";
import { failureText } from "../../proxmox/task.ts";

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

export interface LockOptions {
  command: string;
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

export interface ClusterLock {
  readonly holder: LockHolder;
  /** The holder this run displaced (dead, stale or forced), if any. */
  readonly tookOverFrom?: LockHolder;
  release(): Promise<void>;
}

const DEFAULT_STALE_MS = 15 * 60_000;
const DEFAULT_HEARTBEAT_MS = 60_000;
/** --force-unlock: a run on another machine that missed this long (three heartbeats) is taken for dead. */
const FORCE_SILENCE_MS = 3 * DEFAULT_HEARTBEAT_MS;
const ATTEMPTS = 8;
/** The sub-pool whose existence is the lock. */
const HOLDER_POOL = "run";

export class LockHeldError extends Error {
  override name = "LockHeldError";
  constructor(readonly cluster: string, readonly holder: LockHolder, why: string, now: number) {
    super(`cluster ${cluster} is locked by ${describeHolder(holder, now)}: ${why}`);
  }
}

/** Who runs, as the holder names it: the login name from the environment, else the account's. */
export function currentUser(): string {
  return process.env.USER || process.env.LOGNAME || userInfo().username;
}

function describeHolder(holder: LockHolder, now: number): string {
  const age = Math.max(0, Math.round((now - Date.parse(holder.heartbeat)) / 1000));
  return `${holder.user}@${holder.host} (pid ${holder.pid}, ${holder.command}) since ${holder.since}, last heartbeat ${age} s ago`;
}

const minutes = (ms: number) => `${Math.round(ms / 60_000)} min`;

function parseHolder(comment: unknown): LockHolder | undefined {
  if (typeof comment !== "string") return undefined;
  try {
    const h = JSON.parse(comment) as Partial<LockHolder>;
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

type PoolRead = { exists: false } | { exists: true; holder: LockHolder | undefined };

async function readPool(client: ProxmoxClient, poolid: string): Promise<PoolRead> {
  try {
    const pools = await retrying(() => client.get<{ poolid: string; comment?: string }[]>("/pools", { poolid }));
    const pool = pools.find((p) => p.poolid === poolid);
    return pool === undefined ? { exists: false } : { exists: true, holder: parseHolder(pool.comment) };
  } catch (err) {
    if (err instanceof NotFoundError || /does not exist/i.test(failureText(err))) return { exists: false };
    throw err;
  }
}

/** A refusal of the pool calls, said as the grant that fixes it for good: on the pool that stays, propagated to its sub-pool. */
function lockPrivilegeError(err: unknown, poolid: string, client: ProxmoxClient): unknown {
  if (!(err instanceof PermissionError)) return err;
  return new PrivilegeError(`the cluster lock is the sub-pool ${poolid}/${HOLDER_POOL}; starbase never deletes that pool, so a grant on it `
    + "lasts (with propagation, the default of pveum acl modify)", `/pool/${poolid}`, "Pool.Allocate", client.tokenId, { cause: err });
}

/**
 * Creates the pool that stays when it is not there yet (the first run on this Proxmox). Listed
 * first, so that a token with Pool.Audit sends no request Proxmox refuses; without Pool.Audit
 * (not needed otherwise) the list hides it and the create answers "already exists", which is
 * fine, as is one that a concurrent run created meanwhile.
 */
async function ensureLockPool(client: ProxmoxClient, cluster: string): Promise<void> {
  const poolid = lockPoolId(cluster);
  const pools = await retrying(() => client.get<{ poolid: string }[]>("/pools"));
  if (pools.some((p) => p.poolid === poolid)) return;
  const comment = `starbase: the run lock of cluster ${cluster} is its sub-pool ${HOLDER_POOL}; keep this pool (grants on it must outlive runs)`;
  try {
    await retrying(() => client.post("/pools", { poolid, comment }));
  } catch (err) {
    if (!/already exists/i.test(failureText(err))) throw err;
  }
}

export async function acquireLock(client: ProxmoxClient, cluster: string, opts: LockOptions): Promise<ClusterLock> {
  const now = opts.now ?? Date.now;
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const poolid = `${lockPoolId(cluster)}/${HOLDER_POOL}`;
  const started = new Date(now()).toISOString();
  const me: LockHolder = { user: currentUser(), host: hostname(), pid: process.pid, command: opts.command, since: started, heartbeat: started, run: randomUUID() };
  const stamp = () => JSON.stringify({ ...me, heartbeat: new Date(now()).toISOString() });

  try {
    await ensureLockPool(client, cluster);
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      let created = false;
      try {
        await client.post("/pools", { poolid, comment: stamp() });
        created = true;
      } catch (err) {
        const text = failureText(err);
        // Deleted by hand since: make it again.
        if (/parent .* does not exist/i.test(text)) {
          await ensureLockPool(client, cluster);
          continue;
        }
        // A lost answer may hide our own success; "already exists" may be ours too: read the pool either way.
        if (!isRetryable(err) && !/already exists/i.test(text)) throw err;
      }
      if (created) return held(client, poolid, me, stamp, opts);
      const pool = await readPool(client, poolid);
      if (!pool.exists) continue;
      if (pool.holder?.run === me.run) return held(client, poolid, me, stamp, opts);
      const alive = pool.holder === undefined ? undefined : aliveBecause(pool.holder, me, now(), staleMs, opts.force === true);
      if (alive !== undefined) throw new LockHeldError(cluster, pool.holder!, alive, now());
      // Take over a gone run's lock: last writer wins, so write, then read back who won.
      await retrying(() => client.put("/pools", { poolid, comment: stamp() }));
      const after = await readPool(client, poolid);
      if (after.exists && after.holder?.run === me.run) return held(client, poolid, me, stamp, opts, pool.holder);
    }
  } catch (err) {
    throw lockPrivilegeError(err, lockPoolId(cluster), client);
  }
  throw new Error(`could not take the lock ${poolid} after ${ATTEMPTS} attempts; another run keeps taking it`);
}

function held(client: ProxmoxClient, poolid: string, me: LockHolder, stamp: () => string, opts: LockOptions,
  tookOverFrom?: LockHolder): ClusterLock {
  let released = false;
  const beat = async () => {
    try {
      const pool = await readPool(client, poolid);
      if (released) return;
      if (!pool.exists || pool.holder?.run !== me.run) {
        clearInterval(timer);
        opts.onLost?.(pool.exists ? pool.holder : undefined);
        return;
      }
      await client.put("/pools", { poolid, comment: stamp() });
    } catch {
      // A missed heartbeat is harmless; the lock only goes stale after many.
    }
  };
  const timer = setInterval(() => void beat(), opts.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
  timer.unref();
  return {
    holder: me,
    ...(tookOverFrom !== undefined && { tookOverFrom }),
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      const pool = await readPool(client, poolid);
      // Never remove a lock another run has taken over.
      if (!pool.exists || pool.holder?.run !== me.run) return;
      try {
        await retrying(() => client.delete("/pools", { poolid }));
      } catch (err) {
        if (!(err instanceof NotFoundError) && !/does not exist/i.test(failureText(err))) throw err;
      }
    },
  };
}
