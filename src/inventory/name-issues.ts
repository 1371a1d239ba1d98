import type { SpecPath } from "../spec/types.ts";
import { type DerivedHost, isGenerated } from "./derived.ts";
import type { Finding } from "./findings.ts";

function namePath(host: DerivedHost): SpecPath {
  if (host.entryPath !== undefined) return [...host.entryPath, "name"];
  return host.group.namePrefix !== undefined ? [...host.groupPath, "namePrefix"] : [...host.groupPath, "count"];
}

/**
 * Host names generated from count (agent01 …) that clash with another host's name. Clashes
 * between two written names are the spec validator's; only generated names are derived here.
 */
export function nameFindings(hosts: readonly DerivedHost[]): Finding[] {
  const findings: Finding[] = [];
  const owners = new Map<string, DerivedHost>();
  for (const host of hosts) {
    const owner = owners.get(host.name);
    if (owner === undefined) {
      owners.set(host.name, host);
    } else if (isGenerated(host) || isGenerated(owner)) {
      findings.push({ severity: "error", path: namePath(host), kind: "duplicate",
        text: `${host.name} in ${host.groupPath.join(".")} has the same name as ${owner.name} in ${owner.groupPath.join(".")}`,
        hint: "set namePrefix on the count group, or rename the listed host" });
    }
  }
  return findings;
}
