// The privileges the API token needs, on which paths, for which calls: one table for the
// preflight check, for docs/privileges.md and for the tests that hold it against what the
// emulator checks (qemu-server, pve-storage, pve-manager and pve-access-control, PVE 8.4 and 9).
// The preflight reads the token's effective privileges once (GET /access/permissions) and names
// every missing one with its path and the pveum line that grants it, before anything is done.

import type { Inventory } from "../../inventory/types.ts";
import { type ProxmoxClient } from "../../proxmox/index.ts";
import { imageNodes } from "./nodes.ts";
import { eachLimited } from "../parallel.ts";
import { lockPoolId } from "./lock-pool.ts";
import type { PreflightPurpose } from "./preflight.ts";
import { retrying } from "../../proxmox/retrying.ts";

/** What a run is for: converge (plan and apply) or destroy. */
type PrivilegePurpose = PreflightPurpose;

/** Where a privilege is checked. */
type Scope = "vm" | "bridge" | "node" | "imageStorage" | "seedStorage" | "diskStorage" | "lockPool";

export interface PrivilegeRule {
  privilege: string;
  scope: Scope;
  /** What starbase does with it. */
  use: string;
  /** The API calls that check it. */
  calls: readonly string[];
  purposes: readonly PrivilegePurpose[];
  /** Needed to observe (plan); the others only to change something. */
  read?: true;
}

const BOTH: readonly PrivilegePurpose[] = ["converge", "destroy"];
const CONVERGE: readonly PrivilegePurpose[] = ["converge"];
const VM = "/nodes/{node}/qemu/{vmid}";
const CREATE = "POST /nodes/{node}/qemu";
const UPDATE = `POST ${VM}/config`;
const CONTENT = "/nodes/{node}/storage/{storage}/content";

/** The table, in the order docs/privileges.md shows it. */
export const PRIVILEGE_RULES: readonly PrivilegeRule[] = [
  { privilege: "VM.Audit", scope: "vm", read: true, purposes: BOTH, use: "see the VM, read its config and pending changes, wait for its lock",
    calls: ["GET /cluster/resources", `GET ${VM}/pending`, `GET ${VM}/config`, `GET ${VM}/status/current`] },
  { privilege: "VM.Allocate", scope: "vm", purposes: BOTH, use: "create the VM (destroy: delete it)", calls: [CREATE, `DELETE ${VM}`] },
  { privilege: "VM.Config.CPU", scope: "vm", purposes: CONVERGE, use: "set cores and CPU type", calls: [CREATE, UPDATE] },
  { privilege: "VM.Config.Memory", scope: "vm", purposes: CONVERGE, use: "set memory and balloon", calls: [CREATE, UPDATE] },
  { privilege: "VM.Config.Disk", scope: "vm", purposes: CONVERGE, use: "set the boot order and the boot disk's options, grow the disk", calls: [CREATE, UPDATE, `PUT ${VM}/resize`] },
  { privilege: "VM.Config.CDROM", scope: "vm", purposes: CONVERGE, use: "put a new seed ISO into the CD-ROM of an existing VM", calls: [UPDATE] },
  { privilege: "VM.Config.Network", scope: "vm", purposes: CONVERGE, use: "set the NICs", calls: [CREATE, UPDATE] },
  { privilege: "VM.Config.HWType", scope: "vm", purposes: CONVERGE, use: "set the SCSI controller, serial console and display", calls: [CREATE, UPDATE] },
  { privilege: "VM.Config.Options", scope: "vm", purposes: CONVERGE, use: "set name, OS type, guest agent and tags", calls: [CREATE, UPDATE] },
  { privilege: "VM.PowerMgmt", scope: "vm", purposes: BOTH, use: "start the VM (destroy: stop it)", calls: [`POST ${VM}/status/start`, `POST ${VM}/status/stop`] },
  { privilege: "SDN.Use", scope: "bridge", purposes: CONVERGE, use: "attach NICs to the bridge, on their VLAN", calls: [CREATE, UPDATE] },
  { privilege: "Sys.AccessNetwork", scope: "node", purposes: CONVERGE, use: "let Proxmox download the image (or Sys.Audit and Sys.Modify on /)",
    calls: ["POST /nodes/{node}/storage/{storage}/download-url"] },
  { privilege: "Datastore.Audit", scope: "imageStorage", read: true, purposes: CONVERGE,
    use: "see the storage, list the image, read its virtual size, import the VM disk from it",
    calls: ["GET /cluster/resources", `GET ${CONTENT}`, `GET ${CONTENT}/{volume}`, `${CREATE} (import-from)`] },
  { privilege: "Datastore.AllocateTemplate", scope: "imageStorage", purposes: CONVERGE, use: "download the image", calls: ["POST /nodes/{node}/storage/{storage}/download-url"] },
  { privilege: "Datastore.Audit", scope: "seedStorage", read: true, purposes: BOTH, use: "see the storage, list the seed ISOs, attach one as CD-ROM",
    calls: ["GET /cluster/resources", `GET ${CONTENT}`, `${CREATE} (ide2)`, `${UPDATE} (ide2)`] },
  { privilege: "Datastore.AllocateTemplate", scope: "seedStorage", purposes: CONVERGE, use: "upload the seed ISOs", calls: ["POST /nodes/{node}/storage/{storage}/upload"] },
  { privilege: "Datastore.Allocate", scope: "seedStorage", purposes: BOTH, use: "delete replaced seed ISOs (destroy: the cluster's)", calls: [`DELETE ${CONTENT}/{volume}`] },
  { privilege: "Datastore.Audit", scope: "diskStorage", read: true, purposes: CONVERGE, use: "see the storage", calls: ["GET /cluster/resources"] },
  { privilege: "Datastore.AllocateSpace", scope: "diskStorage", purposes: CONVERGE, use: "create the VM disk (imported from the image) and grow it", calls: [CREATE, `PUT ${VM}/resize`] },
  { privilege: "Pool.Allocate", scope: "lockPool", purposes: BOTH,
    use: "take, refresh and release the run lock (its sub-pool run; starbase never deletes this pool, so a propagating grant on it lasts)",
    calls: ["POST /pools", "PUT /pools", "DELETE /pools"] },
];

/** The role every grant line names; it holds exactly the privileges of the table. */
export const ROLE = "Starbase";

export function rolePrivileges(): string[] {
  return [...new Set(PRIVILEGE_RULES.map((r) => r.privilege))].sort();
}

export function roleCommand(): string {
  return `pveum role add ${ROLE} --privs "${rolePrivileges().join(",")}"`;
}

/** The path of each scope as docs/privileges.md spells it (Markdown). */
const PATH_TEMPLATES: Readonly<Record<Scope, string>> = {
  vm: "`/vms/{vmid}`",
  bridge: "`/sdn/zones/localnetwork/{bridge}/{vlan}` (untagged NIC: `/sdn/zones/localnetwork/{bridge}`)",
  node: "`/nodes/{node}`",
  imageStorage: "`/storage/{proxmox.storage.image}`",
  seedStorage: "`/storage/{proxmox.storage.cloudInit}`",
  diskStorage: "`/storage/{proxmox.storage.disk}`",
  lockPool: "`/pool/starbase-lock-{name}`",
};

/** One privilege on one concrete path. */
export interface NeededPrivilege {
  path: string;
  privilege: string;
  rule: PrivilegeRule;
}

/** The SDN path of a NIC (check_vnet_access; a plain Linux bridge is in the zone localnetwork). */
function bridgePath(bridge: string, vlan: number | undefined): string {
  return `/sdn/zones/localnetwork/${bridge}${vlan === undefined ? "" : `/${vlan}`}`;
}

function pathsOf(scope: Scope, inv: Inventory, vmids: readonly number[]): string[] {
  const { storage } = inv.spec.proxmox;
  switch (scope) {
    case "vm":
      return vmids.map((id) => `/vms/${id}`);
    case "bridge":
      return inv.hosts.flatMap((h) => h.nics.map((nic) => bridgePath(nic.bridge, nic.vlan)));
    case "node":
      return imageNodes(inv).map((node) => `/nodes/${node}`);
    case "imageStorage":
      return [`/storage/${storage.image}`];
    case "seedStorage":
      return [`/storage/${storage.cloudInit}`];
    case "diskStorage":
      return [`/storage/${storage.disk}`];
    case "lockPool":
      return [`/pool/${lockPoolId(inv.spec.name)}`];
  }
}

/** Every privilege a run of `purpose` needs, once per path; `vmids`: the VMs it touches (destroy: those Proxmox has too). */
export function neededPrivileges(inv: Inventory, purpose: PrivilegePurpose, vmids: readonly number[] = inv.hosts.map((h) => h.vmid)): NeededPrivilege[] {
  const needed = new Map<string, NeededPrivilege>();
  for (const rule of PRIVILEGE_RULES.filter((r) => r.purposes.includes(purpose))) {
    for (const path of pathsOf(rule.scope, inv, [...new Set(vmids)].sort((a, b) => a - b))) {
      const key = `${path}\0${rule.privilege}`;
      if (!needed.has(key)) needed.set(key, { path, privilege: rule.privilege, rule });
    }
  }
  return [...needed.values()];
}

/** GET /access/permissions: path → privilege → 1 when it propagates to the paths below. */
type EffectivePermissions = Record<string, Record<string, number | boolean>>;

function parent(path: string): string | undefined {
  if (path === "/") return undefined;
  const cut = path.lastIndexOf("/");
  return cut <= 0 ? "/" : path.slice(0, cut);
}

/**
 * The privileges on `path` as far as the full listing tells: exact for a listed path (every path
 * that carries an ACL is listed, resolved), else what propagates from the nearest listed one
 * above it. This can err where an ACL entry without propagation hides what comes from higher up;
 * a path found lacking is therefore asked about once more on its own.
 */
function fromListing(all: EffectivePermissions, path: string): Set<string> {
  const own = all[path];
  if (own !== undefined) return new Set(Object.keys(own));
  for (let above = parent(path); above !== undefined; above = parent(above)) {
    const privileges = all[above];
    if (privileges !== undefined) return new Set(Object.entries(privileges).filter(([, propagates]) => Boolean(propagates)).map(([name]) => name));
  }
  return new Set();
}

/**
 * A bridge that is an SDN VNet is checked in its own zone, which only an SDN.Audit holder could
 * look up: an ACL on /sdn/zones/<zone>/<bridge>… names the zone well enough.
 */
function inVnetZone(all: EffectivePermissions, need: NeededPrivilege): boolean {
  const local = /^\/sdn\/zones\/localnetwork\/([^/]+)(\/\d+)?$/.exec(need.path);
  if (local === null) return false;
  const [, bridge, vlan = ""] = local;
  const zones = Object.keys(all)
    .map((path) => /^\/sdn\/zones\/([^/]+)\/([^/]+)(?:\/|$)/.exec(path))
    .filter((m): m is RegExpExecArray => m !== null && m[2] === bridge && m[1] !== "localnetwork")
    .map((m) => m[1]!);
  return zones.some((zone) => fromListing(all, `/sdn/zones/${zone}/${bridge}${vlan}`).has(need.privilege));
}

/** The needed privileges the token lacks: one request for all, one more per path that seems to lack something. */
export async function missingPrivileges(client: ProxmoxClient, needed: readonly NeededPrivilege[]): Promise<NeededPrivilege[]> {
  const all = await retrying(() => client.get<EffectivePermissions>("/access/permissions"));
  const lacking = needed.filter((n) => !fromListing(all, n.path).has(n.privilege) && !inVnetZone(all, n));
  const doubtful = [...new Set(lacking.map((n) => n.path))];
  const exact = new Map<string, Set<string>>();
  // A few at a time: a token without VM privileges asks about every VM.
  await eachLimited(doubtful, async (path) => {
    const answer = await retrying(() => client.get<EffectivePermissions>("/access/permissions", { path }));
    exact.set(path, new Set(Object.keys(answer[path] ?? {})));
  });
  return lacking.filter((n) => exact.get(n.path)?.has(n.privilege) === false);
}

/** `pveum acl modify` for a grant on one path, or a loop over the paths that differ in their last part. */
function grantCommand(paths: readonly string[], tokenId: string): string {
  const line = (path: string) => `pveum acl modify ${path} --tokens '${tokenId}' --roles ${ROLE}`;
  if (paths.length === 1) return line(paths[0]!);
  const stem = paths[0]!.slice(0, paths[0]!.lastIndexOf("/"));
  return `for p in ${paths.map((p) => p.slice(stem.length + 1)).join(" ")}; do ${line(`${stem}/$p`)}; done`;
}

/**
 * What to tell the user about missing privileges: per group of paths that lack the same ones,
 * the privileges, the paths, what they are for and the exact pveum line; then the role to create.
 */
export function privilegeProblems(missing: readonly NeededPrivilege[], tokenId: string): string[] {
  if (missing.length === 0) return [];
  const byGrant = new Map<string, NeededPrivilege[]>();
  for (const need of missing) byGrant.set(need.path, [...(byGrant.get(need.path) ?? []), need]);
  // Paths of one kind (VMs, nodes) lacking the same privileges share one line.
  const groups = new Map<string, { grants: string[]; needs: NeededPrivilege[] }>();
  for (const [grantOn, needs] of byGrant) {
    const privileges = needs.map((n) => n.privilege).join(",");
    const kind = /^\/(vms|nodes)\/[^/]+$/.test(grantOn) ? grantOn.split("/")[1] : grantOn;
    const key = `${kind}\0${privileges}`;
    const group = groups.get(key) ?? { grants: [], needs: [] };
    group.grants.push(grantOn);
    group.needs.push(...needs);
    groups.set(key, group);
  }
  const lines = [...groups.values()].map(({ grants, needs }) => {
    const privileges = [...new Set(needs.map((n) => n.privilege))];
    const paths = [...new Set(needs.map((n) => n.path))];
    const uses = [...new Set(needs.map((n) => n.rule.use))].join("; ");
    const where = paths.length > 4 ? `${paths.slice(0, 3).join(", ")} … ${paths.at(-1)} (${paths.length} paths)` : paths.join(", ");
    return `the API token ${tokenId} lacks ${privileges.join(", ")} on ${where}, needed to ${uses}: ${grantCommand(grants, tokenId)}`;
  });
  const user = tokenId.slice(0, tokenId.indexOf("!"));
  lines.push(`the role ${ROLE} holds what starbase needs (docs/privileges.md); create it once: ${roleCommand()}`
    + (user === "root@pam" ? "" : `; a token with privilege separation has only what its user ${user} has as well: grant the user the same with --users ${user}`));
  return lines;
}

/** The table of docs/privileges.md, generated from PRIVILEGE_RULES. */
export function privilegesMarkdown(): string {
  const commands = (rule: PrivilegeRule) => [
    ...(rule.purposes.includes("converge") ? [...(rule.read ? ["plan"] : []), "apply"] : []),
    ...(rule.purposes.includes("destroy") ? ["destroy"] : []),
  ].join(", ");
  const rows = PRIVILEGE_RULES.map((rule) => {
    return `| ${rule.privilege} | ${PATH_TEMPLATES[rule.scope]} | ${commands(rule)} | ${rule.use} | ${rule.calls.map((c) => `\`${c}\``).join("<br>")} |`;
  });
  return [
    "| Privilege | Path | Needed by | What for | Checked by |",
    "|---|---|---|---|---|",
    ...rows,
    "",
    `The role with exactly these privileges: \`${roleCommand()}\``,
    "",
  ].join("\n");
}

/** The pveum line that grants `privilege` on `aclPath` to the API token, through the role the table defines. */
export function grantHint(aclPath: string, tokenId: string, privilege: string): string {
  return `grant it: pveum acl modify ${aclPath} --tokens '${tokenId}' --roles ${ROLE} `
    + `(the role with ${privilege} and the rest starbase needs, docs/privileges.md: ${roleCommand()})`;
}

/** Proxmox refused for want of a privilege it did not name; this names it, and how to grant it. */
export class PrivilegeError extends Error {
  override name = "PrivilegeError";
  constructor(message: string, readonly aclPath: string, readonly privilege: string, tokenId: string, options?: ErrorOptions) {
    const needs = `the token needs ${privilege} on ${aclPath}`;
    super(`${message.includes(needs) ? message : `${message}; ${needs}`}\n${grantHint(aclPath, tokenId, privilege)}`, options);
  }
}
