// Before anything is changed: is this the Proxmox the spec describes? Version, nodes and
// storages come from two requests (/version and /cluster/resources, both cached for the
// steps), the datacenter's tag rules from two more when a tag would change, and every problem
// is reported at once with what to change.

import type { Inventory } from "../../inventory/types.ts";
import { imageNodes, vmNodes } from "./nodes.ts";
import type { ClusterFacts, Facts } from "./facts.ts";
import { tagAccessFindings } from "./tag-access.ts";

/** 8.4: download-url stores .qcow2 images as `import` content, which VMs can be created from (import-from). */
const MINIMUM_PVE = { major: 8, minor: 4 };

export type PreflightPurpose = "converge" | "destroy";

/** Proxmox VE `version` ("9.2.1") is `major`.`minor` or newer. */
function releaseAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(version);
  const have = { major: Number(m?.[1] ?? 0), minor: Number(m?.[2] ?? 0) };
  return have.major > major || (have.major === major && have.minor >= minor);
}

export function versionProblem(version: string): string | undefined {
  if (releaseAtLeast(version, MINIMUM_PVE.major, MINIMUM_PVE.minor)) return undefined;
  return `Proxmox VE ${version} is too old: starbase needs ${MINIMUM_PVE.major}.${MINIMUM_PVE.minor} or newer `
    + "(from 8.4 on Proxmox downloads qcow2 images into the `import` content type that VM disks are imported from); upgrade Proxmox";
}

function nodeProblems(inv: Inventory, facts: ClusterFacts): string[] {
  const known = facts.nodes.map((n) => n.node);
  const problems: string[] = [];
  for (const node of imageNodes(inv)) {
    const found = facts.nodes.find((n) => n.node === node);
    const pinned = inv.hosts.filter((h) => h.pveNode === node && !inv.spec.proxmox.nodes.includes(node)).map((h) => h.name);
    const where = pinned.length > 0 ? `pveNode of ${pinned.join(", ")}` : "proxmox.nodes";
    if (found === undefined) problems.push(`${where}: "${node}" is not a node of this Proxmox cluster (its nodes: ${known.join(", ") || "none visible"}); fix the name`);
    else if (found.status !== "online") problems.push(`Proxmox node ${node} is ${found.status}; bring it online or remove it from ${where}`);
  }
  return problems;
}

/** The content types each storage type can hold (pve-storage: `plugindata` of each plugin); other (third-party) types are not judged. */
const FILE_CONTENT = ["images", "rootdir", "vztmpl", "iso", "backup", "snippets", "import"];
const CONTENT_OF_TYPE: Readonly<Record<string, readonly string[]>> = {
  dir: FILE_CONTENT,
  nfs: FILE_CONTENT,
  cifs: FILE_CONTENT,
  btrfs: FILE_CONTENT,
  cephfs: ["vztmpl", "iso", "backup", "snippets", "import"],
  glusterfs: ["images", "vztmpl", "iso", "backup", "snippets", "import"],
  lvmthin: ["images", "rootdir"],
  lvm: ["images", "rootdir"],
  zfspool: ["images", "rootdir"],
  rbd: ["images", "rootdir"],
  zfs: ["images"],
  iscsi: ["images"],
  iscsidirect: ["images"],
  pbs: ["backup"],
  esxi: ["import"],
};
const CONTENT_NAMES: Readonly<Record<string, string>> = { iso: "ISO files", import: "disk images to import", images: "VM disks" };

/** "a, b or c" */
function anyOf(items: string[]): string {
  return items.length > 1 ? `${items.slice(0, -1).join(", ")} or ${items.at(-1)}` : items.join("");
}

/** The storages on `node` that allow `content`: the ones to suggest instead. */
function storagesWith(facts: ClusterFacts, node: string, content: string): string[] {
  return facts.storages.filter((s) => s.node === node && s.content.includes(content)).map((s) => s.storage);
}

function storageProblem(facts: ClusterFacts, storage: string, node: string, field: string, content: string, hint: string): string | undefined {
  const found = facts.storages.find((s) => s.storage === storage && s.node === node);
  const fitting = storagesWith(facts, node, content);
  if (found === undefined) {
    const elsewhere = facts.storages.filter((s) => s.node === node).map((s) => s.storage);
    return `${field}: storage "${storage}" is not available on node ${node} (it does not exist, is not enabled for that node, `
      + `or the token lacks Datastore.Audit on /storage/${storage}); storages on ${node}: ${elsewhere.join(", ") || "none visible"}`
      + (fitting.length > 0 ? `; of those, ${fitting.join(", ")} ${fitting.length === 1 ? "allows" : "allow"} content "${content}"` : "");
  }
  const holds = found.plugintype === undefined ? undefined : CONTENT_OF_TYPE[found.plugintype];
  if (holds !== undefined && !holds.includes(content)) {
    // Enabling the content type would be refused by Proxmox: name a storage that can hold it.
    const types = Object.keys(CONTENT_OF_TYPE).filter((type) => CONTENT_OF_TYPE[type]!.includes(content));
    return `${field}: storage "${storage}" (${found.plugintype}) cannot hold ${CONTENT_NAMES[content] ?? `content "${content}"`}; use `
      + `${fitting.map((s) => `"${s}" or `).join("")}another storage of type ${anyOf(types)} with content "${content}"`;
  }
  if (!found.content.includes(content)) {
    return `${field}: storage "${storage}" on node ${node} does not allow content "${content}" (it allows ${found.content.join(", ") || "nothing"}); `
      + `enable it: Datacenter → Storage → ${storage} → Content, or pvesm set ${storage} --content ${[...found.content, content].join(",")}${hint}`;
  }
  if (found.status !== undefined && found.status !== "available") return `storage "${storage}" on node ${node} is ${found.status}; fix the storage in Proxmox`;
  return undefined;
}

function storageProblems(inv: Inventory, facts: ClusterFacts): string[] {
  const { storage } = inv.spec.proxmox;
  const problems: (string | undefined)[] = [];
  for (const node of imageNodes(inv)) {
    problems.push(storageProblem(facts, storage.image, node, "proxmox.storage.image", "import", " (the import content type needs PVE 8.4 or newer)"));
  }
  for (const node of vmNodes(inv)) {
    problems.push(storageProblem(facts, storage.cloudInit, node, "proxmox.storage.cloudInit", "iso", ""));
    problems.push(storageProblem(facts, storage.disk, node, "proxmox.storage.disk", "images", ""));
  }
  return [...new Set(problems.filter((p): p is string => p !== undefined))];
}

export interface PreflightFindings {
  /** Every reason the run cannot work on this Proxmox; empty when it can. */
  problems: string[];
  /** What could not be checked; the run goes on. */
  warnings: string[];
}

/** Errors of the requests themselves (401, TLS) are thrown. */
export async function preflight(inv: Inventory, facts: Facts, purpose: PreflightPurpose): Promise<PreflightFindings> {
  const [version, cluster] = await Promise.all([facts.version(), facts.cluster()]);
  const tooOld = versionProblem(version.version);
  if (tooOld !== undefined) return { problems: [tooOld], warnings: [] };
  const problems = nodeProblems(inv, cluster);
  if (purpose === "destroy" || problems.length > 0) return { problems, warnings: [] };
  problems.push(...storageProblems(inv, cluster));
  // qemu-server 9.2.0 (Proxmox VE 9.2) added the tag check to VM creation.
  const tags = await tagAccessFindings(inv, facts, releaseAtLeast(version.version, 9, 2));
  return { problems: [...problems, ...tags.problems], warnings: tags.warnings };
}
