import type { NodeGroup, Role, Spec } from "./types.ts";

export type GroupKey = "loadBalancers" | "servers" | "agents";

export interface DeclaredGroup {
  key: GroupKey;
  role: Role;
  group: NodeGroup;
}

/** The node groups the spec declares, in the fixed order load balancers, servers, agents. */
export function declaredGroups(spec: Spec): DeclaredGroup[] {
  const groups: DeclaredGroup[] = [
    { key: "loadBalancers", role: "loadbalancer", group: spec.nodes.loadBalancers },
    { key: "servers", role: "server", group: spec.nodes.servers },
  ];
  if (spec.nodes.agents !== undefined) groups.push({ key: "agents", role: "agent", group: spec.nodes.agents });
  return groups;
}

/** How many VMs a group declares: its hosts, or its count. */
export function groupSize(group: NodeGroup): number {
  return group.hosts?.length ?? group.count ?? 0;
}
