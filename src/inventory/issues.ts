import { type InputPattern, readsBroken } from "../spec/rules.ts";
import type { Spec, SpecIssue, SpecPath } from "../spec/types.ts";
import { derivedHosts } from "./derived.ts";
import { type Finding, mergeFindings } from "./findings.ts";
import { ipFindings } from "./ip-issues.ts";
import { nameFindings } from "./name-issues.ts";
import { vmidFindings } from "./vmid-issues.ts";
import { rebootWindowFindings } from "./window-issues.ts";

/** What derivedHosts reads: the hosts of every group, written or counted. */
const HOSTS: InputPattern[] = [["nodes", "*", "hosts", "*", "name"], ["nodes", "*", "count"], ["nodes", "*", "namePrefix"]];

/**
 * Problems in the values the inventory derives (addresses, VMIDs, generated names, reboot
 * windows), each pointing at the spec value to blame: a host's own ip/vmid, or the group's
 * ipStart, vm.vmidStart or count for derived ones. Never throws on semantic errors. Checks that
 * need only the written spec (pinned pveNode in proxmox.nodes, CIDR syntax, duplicate written
 * names) belong to spec validation and are not repeated here. `broken`: the places that failed
 * the schema; a family of checks that reads one of them is skipped (see spec/rules.ts).
 */
export function inventoryIssues(spec: Spec, broken: readonly SpecPath[] = []): SpecIssue[] {
  if (readsBroken(HOSTS, broken)) return [];
  const hosts = derivedHosts(spec);
  const families: { inputs: InputPattern[]; findings: () => Finding[] }[] = [
    {
      inputs: [["nodes", "*", "hosts", "*", "ip"], ["nodes", "*", "ipStart"], ["network", "cidr"], ["network", "gateway"], ["loadBalancer", "vip"]],
      findings: () => ipFindings(spec, hosts),
    },
    { inputs: [["nodes", "*", "hosts", "*", "vmid"], ["nodes", "*", "vm", "vmidStart"]], findings: () => vmidFindings(hosts) },
    { inputs: [], findings: () => nameFindings(hosts) },
    {
      inputs: [["updates", "rebootSlots", "*"], ["updates", "minuteOffsets", "*"], ["updates", "windowDuration"]],
      findings: () => rebootWindowFindings(spec.updates, hosts),
    },
  ];
  return mergeFindings(families.filter(({ inputs }) => !readsBroken(inputs, broken)).flatMap(({ findings }) => findings()));
}
