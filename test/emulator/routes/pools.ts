// Resource pools (pve-manager PVE/API2/Pool.pm), as far as starbase uses them: its run lock
// is a sub-pool created atomically under starbase-lock-<cluster>, whose comment holds the holder.
// Creation is atomic: a second POST of the same pool id fails with "already exists". Nested
// pools (8.1+): a sub-pool needs its parent, and a pool with sub-pools cannot be deleted.
// Deleting a pool deletes the ACL node /pool/<id> with every entry on and below it
// (PVE::AccessControl::delete_pool_acl). Pools have no members here.
import { hasPrivilege } from "../auth.ts";
import { handlerError } from "../errors.ts";
import type { EmulatorState } from "../state.ts";
import { type Route, type RouteContext, requiredText, text } from "./context.ts";

interface PoolRecord {
  comment?: string;
}

// Kept beside the state rather than in it: pools are not part of the emulated storage/VM model.
const poolsByState = new WeakMap<EmulatorState, Map<string, PoolRecord>>();

function poolsOf(context: RouteContext): Map<string, PoolRecord> {
  const { state } = context.core;
  let pools = poolsByState.get(state);
  if (!pools) {
    pools = new Map();
    poolsByState.set(state, pools);
  }
  return pools;
}

/** check_pool_exist, for VM creation with `pool`. */
export function poolExists(context: RouteContext, poolid: string): boolean {
  return poolsOf(context).has(poolid);
}

function existing(context: RouteContext, action: string, poolid: string): PoolRecord {
  const pool = poolsOf(context).get(poolid);
  if (!pool) throw handlerError(`${action} failed: pool '${poolid}' does not exist`);
  return pool;
}

function listPools(context: RouteContext): Record<string, unknown>[] {
  const poolid = text(context, "poolid");
  const pools = poolsOf(context);
  if (poolid !== undefined) {
    const pool = pools.get(poolid);
    if (!pool) throw handlerError(`pool '${poolid}' does not exist`);
    // Pool.pm checks Pool.Audit here with noerr and ignores the answer: anyone may read one named pool.
    return [{ poolid, members: [], ...(pool.comment !== undefined && { comment: pool.comment }) }];
  }
  return [...pools.entries()]
    .filter(([id]) => hasPrivilege(context.identity, `/pool/${id}`, "Pool.Audit"))
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, pool]) => ({ poolid: id, ...(pool.comment !== undefined && { comment: pool.comment }) }));
}

function createPool(context: RouteContext): null {
  const poolid = requiredText(context, "poolid");
  const pools = poolsOf(context);
  const fail = (why: string) => handlerError(`create pool failed: ${why}`);
  if (pools.has(poolid)) throw fail(`pool '${poolid}' already exists`);
  const nested = /^(.*)\/([^/]+)$/.exec(poolid);
  if (nested && !pools.has(nested[1] ?? "")) throw fail(`parent '${nested[1]}' of pool '${poolid}' does not exist`);
  if (!/^[A-Za-z]/.test(nested?.[2] ?? poolid)) throw fail("pool name must start with a letter");
  const comment = text(context, "comment");
  // `if $param->{comment}`: an empty comment is not stored.
  pools.set(poolid, comment ? { comment } : {});
  return null;
}

function updatePool(context: RouteContext): null {
  const poolid = requiredText(context, "poolid");
  const pool = existing(context, "update pools", poolid);
  const comment = text(context, "comment");
  // user.cfg keeps a comment only when it is not empty: "" reads back as no comment.
  if (comment) pool.comment = comment;
  else if (comment !== undefined) delete pool.comment;
  return null;
}

function deletePool(context: RouteContext): null {
  const poolid = requiredText(context, "poolid");
  const pools = poolsOf(context);
  existing(context, "delete pool", poolid);
  const child = [...pools.keys()].sort().find((id) => id.startsWith(`${poolid}/`) && !id.slice(poolid.length + 1).includes("/"));
  if (child !== undefined) throw handlerError(`delete pool failed: pool '${poolid}' is not empty (contains pool '${child}')`);
  pools.delete(poolid);
  // delete_pool_acl removes the child "<poolid>" of the /pool ACL node. The tree is keyed by path
  // component, so for a nested id ("a/b") no such child exists and nothing is removed.
  if (!poolid.includes("/")) context.core.access.deleteTree(`/pool/${poolid}`);
  return null;
}

export const poolRoutes: Route[] = [
  { method: "GET", path: "/pools", handler: listPools },
  { method: "POST", path: "/pools", handler: createPool },
  { method: "PUT", path: "/pools", handler: updatePool },
  { method: "DELETE", path: "/pools", handler: deletePool },
];
