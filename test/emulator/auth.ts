// API token authentication (PVEAPIToken header) and privileges: ACLs resolved like
// PVE::AccessControl::roles and PVE::RPCEnvironment::compile_acl_path (pve-access-control) —
// walking from / to the path, an ACL entry on a deeper path replaces what came from above,
// entries without propagation count only on their own path, and a token with privilege
// separation has only what both it and its user have — and the checks of RPCEnvironment
// (check, check_any, exec_api2_perm_check) with their error texts. Every check is recorded, so
// that tests can compare what the emulator asked for with what starbase documents.
import { permissionError, unauthorized } from "./errors.ts";
import type { AclEntry, TokenSpec } from "./options.ts";
import type { MethodInfo, PermissionCheck } from "./schema.ts";
import { isPveTokenId } from "./token-id.ts";

/** Every privilege of PVE 9 ($privgroups of PVE::AccessControl, plus Permissions.Modify): the Administrator role. */
export const ALL_PRIVILEGES = [
  "VM.Allocate", "VM.Audit", "VM.Backup", "VM.Clone", "VM.Config.CDROM", "VM.Config.CPU", "VM.Config.Cloudinit",
  "VM.Config.Disk", "VM.Config.HWType", "VM.Config.Memory", "VM.Config.Network", "VM.Config.Options", "VM.Console",
  "VM.GuestAgent.Audit", "VM.GuestAgent.FileRead", "VM.GuestAgent.FileSystemMgmt", "VM.GuestAgent.FileWrite",
  "VM.GuestAgent.Unrestricted", "VM.Migrate", "VM.PowerMgmt", "VM.Replicate", "VM.Snapshot", "VM.Snapshot.Rollback",
  "Sys.AccessNetwork", "Sys.Audit", "Sys.Console", "Sys.Incoming", "Sys.Modify", "Sys.PowerMgmt", "Sys.Syslog",
  "Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.AllocateTemplate", "Datastore.Audit",
  "SDN.Allocate", "SDN.Audit", "SDN.Use", "Group.Allocate", "Realm.Allocate", "Realm.AllocateUser", "User.Modify",
  "Pool.Allocate", "Pool.Audit", "Mapping.Audit", "Mapping.Modify", "Mapping.Use", "Permissions.Modify",
];

/** The paths get_effective_permissions always reports (besides every path that carries an ACL). */
const TOP_LEVEL_PATHS = ["/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"];

/** One (path, privilege) a check may need. */
export interface Need {
  path: string;
  privilege: string;
}

/** A privilege check as the emulator made it: any one alternative suffices; an alternative needs all its entries. */
export interface PrivilegeCheck {
  /** "POST /nodes/n1/qemu" */
  request: string;
  alternatives: Need[][];
  /** A listing filter (noerr): without the privilege the object is left out instead of refused. */
  filter: boolean;
  granted: boolean;
}

interface StoredEntry {
  /** `token:<tokenid>` or `user:<userid>` */
  subject: string;
  path: string;
  privileges: Set<string>;
  propagate: boolean;
}

export function splitTokenId(tokenId: string): { user: string; token: string } {
  const split = tokenId.indexOf("!");
  return { user: tokenId.slice(0, split), token: tokenId.slice(split + 1) };
}

/** PVE::AccessControl::normalize_path */
export function normalizePath(path: string): string {
  const collapsed = path.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
  return collapsed === "" ? "/" : collapsed;
}

/** `Priv` (on /) or `/path:Priv`, propagating. */
function shortEntry(entry: string): AclEntry {
  const split = entry.lastIndexOf(":");
  return split < 0 ? { path: "/", privileges: [entry] } : { path: entry.slice(0, split), privileges: [entry.slice(split + 1)] };
}

const EVERYTHING: AclEntry[] = [{ path: "/", privileges: ALL_PRIVILEGES }];

/** The ACL tree (user.cfg) of the emulated tokens and their users. */
export class AccessControl {
  readonly #entries: StoredEntry[] = [];
  readonly #tokens = new Map<string, TokenSpec>();
  /** Every privilege check made so far, in order. */
  readonly checks: PrivilegeCheck[] = [];

  constructor(readonly tokens: readonly TokenSpec[]) {
    const users = new Set<string>();
    for (const token of tokens) {
      this.#tokens.set(token.id, token);
      const unrestricted = token.privileges === undefined && token.acl === undefined;
      const own = unrestricted ? EVERYTHING : [...(token.privileges ?? []).map(shortEntry), ...(token.acl ?? [])];
      this.#add(`token:${token.id}`, own);
      const { user } = splitTokenId(token.id);
      if (users.has(user)) continue;
      users.add(user);
      this.#add(`user:${user}`, token.userAcl ?? EVERYTHING);
    }
  }

  #add(subject: string, entries: readonly AclEntry[]): void {
    for (const entry of entries) {
      this.#entries.push({ subject, path: normalizePath(entry.path), privileges: new Set(entry.privileges), propagate: entry.propagate ?? true });
    }
  }

  /** PVE::AccessControl::roles for one subject: what is set on the deepest level of `path` that sets anything. */
  #roles(subject: string, path: string): StoredEntry[] {
    const parts = path === "/" ? [""] : path.split("/");
    let current: StoredEntry[] = [];
    let at = "";
    parts.forEach((part, index) => {
      at = index === 0 ? "/" : `${at === "/" ? "" : at}/${part}`;
      const final = index === parts.length - 1;
      const here = this.#entries.filter((entry) => entry.subject === subject && entry.path === at && (final || entry.propagate));
      if (here.length > 0) current = here;
    });
    return current;
  }

  /** Privilege → propagate flag (a privilege propagates when any role holding it does). */
  #privileges(subject: string, path: string): Map<string, boolean> {
    const privileges = new Map<string, boolean>();
    for (const entry of this.#roles(subject, path)) {
      for (const privilege of entry.privileges) privileges.set(privilege, (privileges.get(privilege) ?? false) || entry.propagate);
    }
    return privileges;
  }

  /** $rpcenv->permissions for a token or a user id. */
  permissions(userOrToken: string, path: string): Map<string, boolean> {
    const normal = normalizePath(path);
    if (!userOrToken.includes("!")) return this.#privileges(`user:${userOrToken}`, normal);
    const token = this.#tokens.get(userOrToken);
    if (!token) return new Map();
    const ofUser = this.#privileges(`user:${splitTokenId(userOrToken).user}`, normal);
    if (token.privsep === false) return ofUser;
    const both = new Map<string, boolean>();
    for (const [privilege, propagate] of this.#privileges(`token:${userOrToken}`, normal)) {
      const user = ofUser.get(privilege);
      if (user !== undefined) both.set(privilege, propagate && user);
    }
    return both;
  }

  /** get_effective_permissions: every top-level path and every path with an ACL, where anything is granted. */
  effectivePermissions(userOrToken: string): Record<string, Record<string, number>> {
    const paths = new Set([...TOP_LEVEL_PATHS, ...this.#entries.map((entry) => entry.path)]);
    const result: Record<string, Record<string, number>> = {};
    for (const path of paths) {
      const privileges = this.permissions(userOrToken, path);
      if (privileges.size > 0) result[path] = flags(privileges);
    }
    return result;
  }

  /** Whether `name` is a token or a user of this ACL tree. */
  knows(name: string): boolean {
    return this.#tokens.has(name) || this.#entries.some((entry) => entry.subject === `user:${name}`);
  }

  /** delete_pool_acl: removing a pool removes the ACL entries on its path and below. */
  deleteTree(path: string): void {
    const root = normalizePath(path);
    for (let index = this.#entries.length - 1; index >= 0; index--) {
      const entryPath = this.#entries[index]?.path ?? "";
      if (entryPath === root || entryPath.startsWith(`${root}/`)) this.#entries.splice(index, 1);
    }
  }

  token(id: string): TokenSpec | undefined {
    return this.#tokens.get(id);
  }
}

export function flags(privileges: Map<string, boolean>): Record<string, number> {
  return Object.fromEntries([...privileges].sort(([a], [b]) => a.localeCompare(b)).map(([name, propagate]) => [name, propagate ? 1 : 0]));
}

export interface Identity {
  /** `user@realm!token`, the user of this token's tasks. */
  tokenId: string;
  access: AccessControl;
  /** "METHOD /path" of the request, for the check log. */
  request: string;
}

/** PVE::APIServer::Formatter::extract_auth_value for `PVEAPIToken`. */
function extractToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const value = /(?:^|\s)PVEAPIToken(?:=| )([^;]*)/.exec(header)?.[1];
  if (!value) return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

export function authenticate(header: string | undefined, access: AccessControl, request: string): Identity {
  const value = extractToken(header);
  if (value === undefined) throw unauthorized("No ticket");
  const split = value.lastIndexOf("=");
  // verify_token: split_tokenid dies on an id that is not user@realm!name, before any lookup.
  const id = split > 0 ? value.slice(0, split) : "";
  const token = isPveTokenId(id) ? access.token(id) : undefined;
  if (!token || token.secret !== value.slice(split + 1)) throw unauthorized("Authentication failed!");
  return { tokenId: token.id, access, request };
}

/** Whether the token has `need`, without recording a check (for error texts). */
export function holds(identity: Identity, need: Need): boolean {
  return identity.access.permissions(identity.tokenId, need.path).has(need.privilege);
}

/** Makes and records one check: true when some alternative is fully granted. */
export function privilegeCheck(identity: Identity, alternatives: Need[][], filter = false): boolean {
  const granted = alternatives.some((alternative) => alternative.every((need) => holds(identity, need)));
  identity.access.checks.push({ request: identity.request, alternatives, filter, granted });
  return granted;
}

/** $rpcenv->check(..., noerr) of a listing: may the token see the object? */
export function hasPrivilege(identity: Identity, path: string, privilege: string): boolean {
  return privilegeCheck(identity, [[{ path, privilege }]], true);
}

/** rpcenv->check / check_any with their error texts. */
export function requirePrivileges(identity: Identity, path: string, privileges: string[], any = false): void {
  const needs = privileges.map((privilege) => ({ path, privilege }));
  if (privilegeCheck(identity, any ? needs.map((need) => [need]) : [needs])) return;
  if (any) throw permissionError(`${path}, ${privileges.join("|")}`);
  throw permissionError(`${path}, ${needs.find((need) => !holds(identity, need))?.privilege}`);
}

function substitute(template: string, params: Record<string, unknown>): string {
  return normalizePath(template.replace(/\{([^}]+)\}/g, (_, name: string) => String(params[name] ?? "")));
}

function permOptions(rest: unknown[]): Map<unknown, unknown> {
  const options = new Map<unknown, unknown>();
  for (let index = 2; index + 1 < rest.length; index += 2) options.set(rest[index], rest[index + 1]);
  return options;
}

/** A check expression as alternatives (disjunctive normal form), for the check log. */
function alternativesOf(check: PermissionCheck, params: Record<string, unknown>): Need[][] {
  const [test, ...rest] = check;
  if (test === "and") {
    return rest.reduce<Need[][]>(
      (product, sub) => product.flatMap((left) => alternativesOf(sub as PermissionCheck, params).map((right) => [...left, ...right])),
      [[]],
    );
  }
  if (test === "or") return rest.flatMap((sub) => alternativesOf(sub as PermissionCheck, params));
  if (test === "perm") {
    const [template, privileges] = rest as [string, string[]];
    const options = permOptions(rest);
    const requiredParam = options.get("require_param");
    if (typeof requiredParam === "string" && params[requiredParam] === undefined) return [];
    const path = substitute(template, params);
    const needs = privileges.map((privilege) => ({ path, privilege }));
    return options.get("any") ? needs.map((need) => [need]) : [needs];
  }
  return [[]];
}

/** exec_api2_perm_check: false (noerr) or throws for a failed check expression. */
function evaluate(check: PermissionCheck, identity: Identity, params: Record<string, unknown>, noerr: boolean): boolean {
  const [test, ...rest] = check;
  if (test === "and") {
    for (const sub of rest) if (!evaluate(sub as PermissionCheck, identity, params, noerr)) return false;
    return true;
  }
  if (test === "or") {
    if (rest.some((sub) => evaluate(sub as PermissionCheck, identity, params, true))) return true;
    if (noerr) return false;
    throw permissionError();
  }
  if (test === "perm") {
    const [template, privileges] = rest as [string, string[]];
    const options = permOptions(rest);
    const requiredParam = options.get("require_param");
    if (typeof requiredParam === "string" && params[requiredParam] === undefined) {
      if (noerr) return false;
      throw permissionError();
    }
    const path = substitute(template, params);
    const any = Boolean(options.get("any"));
    const granted = (privilege: string) => holds(identity, { path, privilege });
    if (any ? privileges.some(granted) : privileges.every(granted)) return true;
    if (noerr) return false;
    throw permissionError(any ? `${path}, ${privileges.join("|")}` : `${path}, ${privileges.find((privilege) => !granted(privilege))}`);
  }
  // userid-group, userid-param and friends concern user management, which is not emulated.
  return true;
}

/** check_api2_permissions for a token (never root@pam). */
export function checkApiPermissions(info: MethodInfo, identity: Identity, params: Record<string, unknown>): void {
  const permissions = info.permissions;
  if (!permissions) throw permissionError("user != root@pam");
  if (permissions.user === "all" || permissions.user === "world") return;
  if (permissions.check) {
    identity.access.checks.push({
      request: identity.request,
      alternatives: alternativesOf(permissions.check, params),
      filter: false,
      granted: evaluate(permissions.check, identity, params, true),
    });
    evaluate(permissions.check, identity, params, false);
    return;
  }
  throw permissionError();
}
