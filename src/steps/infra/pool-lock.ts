// The cluster lock through Proxmox pools, with no SSH and no local state (a RunLock, see
// ../lock.ts). The pool starbase-lock-<cluster> is created once and never deleted: Proxmox
// deletes every permission on a pool with the pool (pve-manager API2/Pool.pm, delete_pool_acl),
// so a grant on it must outlive the runs. The lock itself is its sub-pool
// starbase-lock-<cluster>/run: POST /pools creates it or fails with "already exists",
// atomically, and its comment names the holder with its heartbeat. Release deletes the
// sub-pool (deleting a nested pool leaves every grant alone).

import { isRetryable, NotFoundError, PermissionError, type ProxmoxClient } from "../../proxmox/index.ts";
import { retrying } from "../../proxmox/retrying.ts";
import { failureText } from "../../proxmox/task.ts";
import { holderText, type LockRead, type LockStore, parseHolder, type RunLock, storeLock } from "../lock.ts";
import { lockPoolId } from "./lock-pool.ts";
import { PrivilegeError } from "./privileges.ts";

/** The sub-pool whose existence is the lock. */
const HOLDER_POOL = "run";

const gone = (err: unknown) => err instanceof NotFoundError || /does not exist/i.test(failureText(err));

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

function poolStore(client: ProxmoxClient, cluster: string): LockStore {
  const poolid = `${lockPoolId(cluster)}/${HOLDER_POOL}`;
  let ensured = false;
  const read = async (): Promise<LockRead> => {
    try {
      const pools = await retrying(() => client.get<{ poolid: string; comment?: string }[]>("/pools", { poolid }));
      const pool = pools.find((p) => p.poolid === poolid);
      return pool === undefined ? { exists: false } : { exists: true, holder: parseHolder(pool.comment) };
    } catch (err) {
      if (gone(err)) return { exists: false };
      throw err;
    }
  };
  return {
    async create(holder) {
      if (!ensured) await ensureLockPool(client, cluster);
      ensured = true;
      try {
        await client.post("/pools", { poolid, comment: holderText(holder) });
        return true;
      } catch (err) {
        const text = failureText(err);
        // Deleted by hand since: make it again; the next attempt creates the lock.
        if (/parent .* does not exist/i.test(text)) {
          await ensureLockPool(client, cluster);
          return false;
        }
        // A lost answer may hide our own success; "already exists" may be ours too: the read that follows tells.
        if (!isRetryable(err) && !/already exists/i.test(text)) throw err;
        return false;
      }
    },
    read,
    write: async (holder) => {
      await retrying(() => client.put("/pools", { poolid, comment: holderText(holder) }));
    },
    async remove() {
      try {
        await retrying(() => client.delete("/pools", { poolid }));
      } catch (err) {
        if (!gone(err)) throw err;
      }
    },
  };
}

/** Every call's refusal for want of a privilege becomes the grant that fixes it. */
function explained(store: LockStore, client: ProxmoxClient, cluster: string): LockStore {
  const wrap = <A extends unknown[], R>(call: (...args: A) => Promise<R>) => async (...args: A): Promise<R> => {
    try {
      return await call(...args);
    } catch (err) {
      throw lockPrivilegeError(err, lockPoolId(cluster), client);
    }
  };
  return { create: wrap(store.create), read: wrap(store.read), write: wrap(store.write), remove: wrap(store.remove) };
}

/** The run lock of `cluster` as the sub-pool starbase-lock-<cluster>/run. */
export function poolLock(client: ProxmoxClient, cluster: string): RunLock {
  return storeLock(cluster, explained(poolStore(client, cluster), client, cluster));
}
