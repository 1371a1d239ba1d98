import type { Spec, SpecIssue } from "../spec/types.ts";
import { derivedHosts } from "./derived.ts";
import { mergeFindings } from "./findings.ts";
import { ipFindings } from "./ip-issues.ts";
import { nameFindings } from "./name-issues.ts";
import { vmidFindings } from "./vmid-issues.ts";
import { rebootWindowFindings } from "./window-issues.ts";

/**
 * Problems in the values the inventory derives (addresses, VMIDs, generated names, reboot
 * windows), each pointing at the spec value to blame: a host's own ip/vmid, or the group's
 * ipStart, vm.vmidStart or count for derived ones. Runs after the schema passed; never throws
 * on semantic errors. Checks that need only the written spec (pinned pveNode in proxmox.nodes,
 * CIDR syntax, duplicate written names) belong to spec validation and are not repeated here.
 */
export function inventoryIssues(spec: Spec): SpecIssue[] {
  const hosts = derivedHosts(spec);
  return mergeFindings([
    ...ipFindings(spec, hosts),
    ...vmidFindings(hosts),
    ...nameFindings(hosts),
    ...rebootWindowFindings(spec.updates, hosts),
  ]);
}
