// GET /access/permissions (pve-access-control API2::AccessControl): the effective privileges
// of the caller (or of a user or token it may inspect), per path, with their propagate flag.
import { flags, requirePrivileges, splitTokenId } from "../auth.ts";
import { type RouteContext, text } from "./context.ts";

export function permissions(context: RouteContext): Record<string, Record<string, number>> {
  const { identity } = context;
  const userid = text(context, "userid") ?? identity.tokenId;
  // Each user/token may dump its own permissions (a user also those of its tokens); others need Sys.Audit on /access.
  const own = userid === identity.tokenId || (userid.includes("!") && splitTokenId(userid).user === identity.tokenId);
  if (!own) requirePrivileges(identity, "/access", ["Sys.Audit"]);
  if (!identity.access.knows(userid)) return {};
  const path = text(context, "path");
  if (path !== undefined) return { [path]: flags(identity.access.permissions(userid, path)) };
  return identity.access.effectivePermissions(userid);
}
