// May this token set the tags starbase needs? The datacenter options `user-tag-access` (free by
// default; list, existing, none) and `registered-tags` restrict which tags a user or token
// without Sys.Modify on / may add to or remove from a VM. Proxmox checks that when a config
// update changes the tags, inside the update's task, and from qemu-server 9.2 also inside the
// create task, after the disk import: both are far too late to learn it. So before anything
// is changed, the tag changes this run would make are checked here against the options, with
// the exact setting or privilege that lets them pass.

import type { Inventory } from "../../inventory/types.ts";
import { isClusterVm, isManagedTag, vmTags } from "./tags.ts";
import type { ClusterFacts, DatacenterOptions, Facts } from "./facts.ts";

export interface TagAccessFindings {
  problems: string[];
  warnings: string[];
}

interface PlannedTags {
  /** Tags of the VMs to create. */
  created: Set<string>;
  /** Tags to add to or remove from existing VMs (the config-hash tags of earlier versions, a new role). */
  changed: Set<string>;
}

function plannedTags(inv: Inventory, cluster: ClusterFacts): PlannedTags {
  const planned: PlannedTags = { created: new Set(), changed: new Set() };
  for (const host of inv.hosts) {
    const want = vmTags(inv.spec.name, host.role);
    const vm = cluster.vms.find((v) => v.vmid === host.vmid);
    if (vm === undefined) {
      for (const tag of want) planned.created.add(tag);
    } else if (vm.lock === undefined && isClusterVm(vm, inv.spec.name)) {
      const have = vm.tags.filter(isManagedTag);
      for (const tag of [...want.filter((t) => !have.includes(t)), ...have.filter((t) => !want.includes(t))]) planned.changed.add(tag);
    }
  }
  return planned;
}

const list = (tags: Iterable<string>) => [...tags].sort().join(", ");

/**
 * Problems with the tags this run would set or remove; warnings where the options cannot be
 * read. `createChecksTags`: the release checks the tags of a new VM too (qemu-server 9.2.0).
 * Reads nothing more when no tag would change.
 */
export async function tagAccessFindings(inv: Inventory, facts: Facts, createChecksTags: boolean): Promise<TagAccessFindings> {
  const findings: TagAccessFindings = { problems: [], warnings: [] };
  const { created, changed } = plannedTags(inv, await facts.cluster());
  const checked = new Set([...changed, ...(createChecksTags ? created : [])]);
  if (checked.size === 0) return findings;
  const [options, onRoot] = await Promise.all([facts.datacenterOptions(), facts.privileges("/")]);
  if (onRoot.has("Sys.Modify")) return findings;

  const tokenId = inv.spec.proxmox.tokenId;
  // Sys.Modify on / is more than starbase's role holds: an administrator's choice, named as such.
  const orGrant = `, or give the token Sys.Modify on /: pveum acl modify / --tokens '${tokenId}' --roles <a role with Sys.Modify>`;
  const allowed = new Set(options["allowed-tags"] ?? []);
  if (!onRoot.has("Sys.Audit")) {
    // Without Sys.Audit on / the answer holds only the tags allowed to this token, not the rules.
    if ([...checked].some((t) => !allowed.has(t))) {
      findings.warnings.push(`cannot check whether Proxmox lets token ${tokenId} set or remove the tags ${list(checked)}: `
        + "the datacenter options user-tag-access and registered-tags are readable only with Sys.Audit on /; "
        + "going on (if they restrict these tags, creating or updating the VMs fails with \"Permission check failed (/, Sys.Modify for modifying tag …)\")");
    }
    return findings;
  }
  findings.problems.push(...tagProblems(options, checked, created.size > 0 && createChecksTags, orGrant));
  return findings;
}

function tagProblems(options: DatacenterOptions, checked: Set<string>, creating: boolean, orGrant: string): string[] {
  const problems: string[] = [];
  const allowed = new Set(options["allowed-tags"] ?? []);
  const registered = options["registered-tags"] ?? [];
  const access = options["user-tag-access"] ?? {};
  const userAllow = access["user-allow"] ?? "free";

  const taken = registered.filter((t) => checked.has(t));
  if (taken.length > 0) {
    const rest = registered.filter((t) => !checked.has(t));
    const unregister = rest.length > 0 ? `pvesh set /cluster/options --registered-tags '${rest.join(";")}'` : "pvesh set /cluster/options --delete registered-tags";
    problems.push(`the datacenter option registered-tags holds ${list(taken)}, which only a token with Sys.Modify on / may set or remove, `
      + `and starbase must set or remove them; unregister them: ${unregister}${orGrant}`);
  }
  if (userAllow === "free") return problems;

  if (creating) {
    // qemu-server 9.2's create_vm passes `{}` as the old tags, which counts as a tag "HASH(0x…)" removed.
    problems.push(`Proxmox checks the tags of a new VM at its creation (qemu-server 9.2 and later), and with user-tag-access `
      + `user-allow=${userAllow} it refuses every tag to a token without Sys.Modify on / (it also checks a pseudo-tag "HASH(0x…)" no list can allow), `
      + `so starbase cannot create its VMs; allow any tag: pvesh set /cluster/options --user-tag-access user-allow=free${orGrant}`);
    return problems;
  }
  const refused = [...checked].filter((t) => !allowed.has(t) && !registered.includes(t));
  if (refused.length > 0) {
    const allowList = [...new Set([...(access["user-allow-list"] ?? []), ...refused])].sort().join(";");
    problems.push(`the datacenter option user-tag-access (user-allow=${userAllow}) does not let this token set or remove the tags ${list(refused)}; `
      + `allow them: pvesh set /cluster/options --user-tag-access 'user-allow=${userAllow === "none" ? "list" : userAllow},user-allow-list=${allowList}'${orGrant}`);
  }
  return problems;
}
