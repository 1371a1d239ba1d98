// API token authentication (PVEAPIToken header) and privilege checks
// (PVE::RPCEnvironment check/check_any/exec_api2_perm_check).
import { permissionError, unauthorized } from "./errors.ts";
import type { MethodInfo, PermissionCheck } from "./schema.ts";
import type { TokenSpec } from "./options.ts";
import { isPveTokenId } from "./token-id.ts";

export interface Identity {
  /** `user@realm!token`, the user of this token's tasks. */
  tokenId: string;
  privileges?: string[];
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

export function authenticate(header: string | undefined, tokens: TokenSpec[]): Identity {
  const value = extractToken(header);
  if (value === undefined) throw unauthorized("No ticket");
  const split = value.lastIndexOf("=");
  // verify_token: split_tokenid dies on an id that is not user@realm!name, before any lookup.
  const id = split > 0 ? value.slice(0, split) : "";
  const token = isPveTokenId(id) ? tokens.find((candidate) => candidate.id === id) : undefined;
  if (!token || token.secret !== value.slice(split + 1)) throw unauthorized("Authentication failed!");
  return { tokenId: token.id, privileges: token.privileges };
}

export function splitTokenId(tokenId: string): { user: string; token: string } {
  const split = tokenId.indexOf("!");
  return { user: tokenId.slice(0, split), token: tokenId.slice(split + 1) };
}

function normalizePath(path: string): string {
  const collapsed = path.replace(/\/+/g, "/").replace(/(.)\/$/, "$1");
  return collapsed === "" ? "/" : collapsed;
}

function isBelow(path: string, aclPath: string): boolean {
  return aclPath === "/" || path === aclPath || path.startsWith(`${aclPath}/`);
}

/** The path an ACL entry `/path:Priv` (or `Priv`, meaning `/`) is set on. */
function aclPathOf(entry: string): string {
  const split = entry.lastIndexOf(":");
  return split < 0 ? "/" : entry.slice(0, split);
}

/**
 * Removes every ACL entry on `path` and below it, as deleting the ACL tree node does
 * (PVE::AccessControl::delete_pool_acl). Tokens without a list hold every privilege on `/`,
 * which no deletion below `/` touches.
 */
export function removeAclSubtree(tokens: TokenSpec[], path: string): void {
  const node = normalizePath(path);
  for (const token of tokens) {
    if (token.privileges) token.privileges = token.privileges.filter((entry) => !isBelow(normalizePath(aclPathOf(entry)), node));
  }
}

export function hasPrivilege(identity: Identity, path: string, privilege: string): boolean {
  if (!identity.privileges) return true;
  return identity.privileges.some((entry) => {
    const name = entry.slice(entry.lastIndexOf(":") + 1);
    return name === privilege && isBelow(normalizePath(path), normalizePath(aclPathOf(entry)));
  });
}

/** rpcenv->check / check_any with their error texts. */
export function requirePrivileges(identity: Identity, path: string, privileges: string[], any = false): void {
  if (any) {
    if (!privileges.some((privilege) => hasPrivilege(identity, path, privilege))) {
      throw permissionError(`${path}, ${privileges.join("|")}`);
    }
    return;
  }
  const missing = privileges.find((privilege) => !hasPrivilege(identity, path, privilege));
  if (missing) throw permissionError(`${path}, ${missing}`);
}

function substitute(template: string, params: Record<string, unknown>): string {
  return normalizePath(template.replace(/\{([^}]+)\}/g, (_, name: string) => String(params[name] ?? "")));
}

/** Returns false (noerr) or throws for a failed check expression. */
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
    const [template, privileges, ...options] = rest as [string, string[], ...unknown[]];
    const optionMap = new Map<unknown, unknown>();
    for (let index = 0; index + 1 < options.length; index += 2) optionMap.set(options[index], options[index + 1]);
    const requiredParam = optionMap.get("require_param");
    if (typeof requiredParam === "string" && params[requiredParam] === undefined) return false;
    const path = substitute(template, params);
    try {
      requirePrivileges(identity, path, privileges, Boolean(optionMap.get("any")));
      return true;
    } catch (error) {
      if (noerr) return false;
      throw error;
    }
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
    evaluate(permissions.check, identity, params, false);
    return;
  }
  throw permissionError();
}
