import { declaredGroups } from "../spec/groups.ts";
import type { HostEntry, NodeGroup, Role, Spec, SpecPath } from "../spec/types.ts";
import { declaredHosts } from "./declared.ts";

/** A declared host with the places in cluster.yaml that its derived values come from. */
export interface DerivedHost {
  name: string;
  role: Role;
  index: number;
  entry: HostEntry;
  group: NodeGroup;
  groupPath: SpecPath;
  /** nodes.<type>.hosts[i] for listed hosts; undefined for count-generated ones. */
  entryPath?: SpecPath;
}

/** All hosts in inventory order (load balancers, servers, agents), for the derived-value checks. */
export function derivedHosts(spec: Spec): DerivedHost[] {
  return declaredGroups(spec).flatMap(({ key, role, group }) => {
    const groupPath: SpecPath = ["nodes", key];
    return declaredHosts(group, role).map((entry, index) => {
      const host: DerivedHost = { name: entry.name, role, index, entry, group, groupPath };
      if (group.hosts !== undefined) host.entryPath = [...groupPath, "hosts", index];
      return host;
    });
  });
}

/** Whether the host's name was generated from count (and namePrefix) rather than written. */
export function isGenerated(host: DerivedHost): boolean {
  return host.entryPath === undefined;
}
