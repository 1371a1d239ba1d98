// One run at a time per cluster. The lock is a Proxmox pool named starbase-lock-<cluster>:
// POST /pools either creates it or fails with "already exists", atomically, on every PVE
// node, and needs no SSH and no local state. The pool's comment holds who runs (user@host,
// pid, command, since) and a heartbeat the holder refreshes; a lock whose heartbeat is old,
// or whose process is gone from this very machine, may be taken over, and --force-unlock
// takes it over at once.

import { randomUUID } from "node:crypto";
import { hostname, userInfo } from "node:os";
import { isRetryable, NotFoundError, type ProxmoxClient } from "../proxmox/index.ts";
import { retrying } from "./retry.ts";
import { failureText } from "./task.ts";

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
  /** Take the lock over whoever holds it. */
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
  /** The holder this run displaced (stale or forced), if any. */
  readonly tookOverFrom?: LockHolder;
  release(): Promise<void>;
}

export class LockHeldError extends Error {
  override name = "LockHeldError";
  constructor(readonly cluster: string, readonly holder: LockHolder, staleMs: number, now: number) {
    super(`cluster ${cluster} is locked by ${describeHolder(holder, now)}; `
      + `wait for that run to end. If it is dead, run again with --force-unlock `
      + `(a lock is taken over by itself after ${Math.round(staleMs / 60_000)} min without heartbeat)`);
  }
}

/** Who runs, as the holder names it: the login name from the environment, else the account's. */
export function currentUser(): string {
  return process.env.USER || process.env.LOGNAME || userInfo().username;
}

export function lockPoolId(cluster: string): string {
  return `starbase-lock-${cluster}`;
}

function describeHolder(holder: LockHolder, now: number): string {
  const age = Math.max(0, Math.round((now - Date.parse(holder.heartbeat)) / 1000));
  return `${holder.user}@${holder.host} (pid ${holder.pid}, ${holder.command}) since ${holder.since}, last heartbeat ${age} s ago`;
}

const DEFAULT_STALE_MS = 15 * 60_000;
const DEFAULT_HEARTBEAT_MS = 60_000;
const ATTEMPTS = 8;

function parseHolder(comment: unknown): LockHolder | undefined {
  if (typeof comment !== "string") return undefined;
  try {
    const h = JSON.parse(comment) as Partial<LockHolder>;
    if (typeof h.user === "string" && typeof h.host === "string" && typeof h.pid === "number" && typeof h.since === "string"
      && typeof h.heartbeat === "string" && typeof h.run === "string") {
      return { user: h.user, host: h.host, pid: h.pid, command: typeof h.command === "string" ? h.command : "?", since: h.since, heartbeat: h.heartbeat, run: h.run };
    }
  } catch {
    // not ours or damaged: treated as a holder without heartbeat below
  }
  return undefined;
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "ESRCH";
  }
}

type PoolRead = { exists: false } | { exists: true; holder: LockHolder | undefined };

async function readPool(client: ProxmoxClient, poolid: string): Promise<PoolRead> {
  try {
    const pools = await retrying(() => client.get<{ poolid: string; comment?: string }[]>("/pools", { poolid }));
    const pool = pools.find((p) => p.poolid === poolid);
    return pool === undefined ? { exists: false } : { exists: true, holder: parseHolder(pool.comment) };
  } catch (err) {
    if (err instanceof NotFoundError) return { exists: false };
    throw err;
  }
}

export async function acquireLock(client: ProxmoxClient, cluster: string, opts: LockOptions): Promise<ClusterLock> {
  const now = opts.now ?? Date.now;
  const staleMs = opts.staleMs ?? DEFAULT_STALE_MS;
  const poolid = lockPoolId(cluster);
  const started = new Date(now()).toISOString();
  const me: LockHolder = { user: currentUser(), host: hostname(), pid: process.pid, command: opts.command, since: started, heartbeat: started, run: randomUUID() };
  const stamp = () => JSON.stringify({ ...me, heartbeat: new Date(now()).toISOString() });

  const abandoned = (holder: LockHolder | undefined) => opts.force === true
    || holder === undefined
    || now() - Date.parse(holder.heartbeat) > staleMs
    || (holder.host === me.host && processGone(holder.pid));

  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let created = false;
    try {
      await client.post("/pools", { poolid, comment: stamp() });
      created = true;
    } catch (err) {
      // A lost answer may hide our own success; "already exists" may be ours too: read the pool either way.
      if (!isRetryable(err) && !/already exists/i.test(failureText(err))) throw err;
    }
    if (created) return held(client, poolid, me, stamp, opts);
    const pool = await readPool(client, poolid);
    if (!pool.exists) continue;
    if (pool.holder?.run === me.run) return held(client, poolid, me, stamp, opts);
    if (!abandoned(pool.holder)) throw new LockHeldError(cluster, pool.holder!, staleMs, now());
    // Take over: last writer wins, so write, then read back who won.
    await retrying(() => client.put("/pools", { poolid, comment: stamp() }));
    const after = await readPool(client, poolid);
    if (after.exists && after.holder?.run === me.run) return held(client, poolid, me, stamp, opts, pool.holder);
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
        if (!(err instanceof NotFoundError)) throw err;
      }
    },
  };
}
