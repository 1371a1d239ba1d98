// Datacenter-wide reads: GET /cluster/options (pve-manager PVE/API2/Cluster.pm get_options).
import { hasPrivilege } from "../auth.ts";
import { allowedTags } from "../tag-access.ts";
import type { RouteContext } from "./context.ts";

/** Every user may ask; without Sys.Audit on / only `console` and `tag-style` of datacenter.cfg are shown. */
export function clusterOptions(context: RouteContext): Record<string, unknown> {
  const { core, identity } = context;
  const { datacenter } = core;
  const result: Record<string, unknown> = {};
  if (hasPrivilege(identity, "/", "Sys.Audit")) Object.assign(result, structuredClone(datacenter));
  const { allowed } = allowedTags(core.state, datacenter, identity);
  result["allowed-tags"] = [...allowed].sort();
  return result;
}
