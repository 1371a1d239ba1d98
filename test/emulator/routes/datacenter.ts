// Datacenter-wide reads: GET /cluster/options (pve-manager PVE/API2/Cluster.pm get_options) and
// GET /access/permissions (pve-access-control PVE/API2/AccessControl.pm permissions).
import { hasPrivilege } from "../auth.ts";
import { handlerError } from "../errors.ts";
import { allowedTags } from "../tag-access.ts";
import { type RouteContext, text } from "./context.ts";

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

/** PVE privileges (pve-access-control PVE/AccessControl.pm $privgroups). */
const PRIVILEGES = [
  "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
  "Group.Allocate", "Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify", "Pool.Allocate", "Pool.Audit",
  "Realm.Allocate", "Realm.AllocateUser", "SDN.Allocate", "SDN.Audit", "SDN.Use",
  "Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog", "User.Modify",
  "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit", "VM.Config.Disk",
  "VM.Config.HWType", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.Console",
  "VM.GuestAgent.Audit", "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite", "VM.GuestAgent.Unrestricted",
  "VM.Migrate", "VM.PowerMgmt", "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback",
];

/**
 * A token's own privileges on one path ({path: {privilege: propagate}}); asking for another
 * user's is not emulated. Without `path` the real call lists every path with an ACL; here the
 * paths the token's privileges name.
 */
export function accessPermissions(context: RouteContext): Record<string, Record<string, number>> {
  const { identity } = context;
  const on = (path: string) => Object.fromEntries(PRIVILEGES.filter((privilege) => hasPrivilege(identity, path, privilege)).map((privilege) => [privilege, 1]));
  const userid = text(context, "userid");
  if (userid !== undefined && userid !== identity.tokenId) throw handlerError("the permissions of another user are not emulated");
  const path = text(context, "path");
  if (path !== undefined) return { [path]: on(path) };
  const paths = new Set(["/", ...(identity.privileges ?? []).filter((entry) => entry.includes(":")).map((entry) => entry.slice(0, entry.lastIndexOf(":")))]);
  return Object.fromEntries([...paths].map((p) => [p, on(p)]).filter(([, privileges]) => Object.keys(privileges as object).length > 0));
}
