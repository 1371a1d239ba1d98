// Resource pools (pve-access-control API2/Pool.pm), as far as starbase uses them: its run lock
// is a pool named starbase-lock-<cluster> whose comment holds the holder. Creation is atomic:
// a second POST of the same pool id fails with "already exists". Pools have no members here.
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
  if (pools.has(poolid)) throw handlerError(`create pool failed: pool '${poolid}' already exists`);
  const comment = text(context, "comment");
  pools.set(poolid, comment === undefined ? {} : { comment });
  return null;
}

function updatePool(context: RouteContext): null {
  const poolid = requiredText(context, "poolid");
  const pool = existing(context, "update pools", poolid);
  const comment = text(context, "comment");
  if (comment !== undefined) pool.comment = comment;
  return null;
}

function deletePool(context: RouteContext): null {
  const poolid = requiredText(context, "poolid");
  existing(context, "delete pool", poolid);
  poolsOf(context).delete(poolid);
  // delete_pool_acl: the ACL entries on the pool's path go with it.
  context.core.access.deleteTree(`/pool/${poolid}`);
  return null;
}

export const poolRoutes: Route[] = [
  { method: "GET", path: "/pools", handler: listPools },
  { method: "POST", path: "/pools", handler: createPool },
  { method: "PUT", path: "/pools", handler: updatePool },
  { method: "DELETE", path: "/pools", handler: deletePool },
];
