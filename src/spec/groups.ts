import type { NodeGroup, Role, Spec } from "./types.ts";

/** The order in which host types appear everywhere: load balancers, servers, agents. */
export const ROLE_ORDER: readonly Role[] = ["loadbalancer", "server", "agent"];

export type GroupKey = keyof Spec["nodes"];

/** Where each role's group lives under `nodes:` in cluster.yaml. */
export const GROUP_KEY: Readonly<Record<Role, GroupKey>> = {
  loadbalancer: "loadBalancers",
  server: "servers",
  agent: "agents",
};

export function groupOf(spec: Spec, role: Role): NodeGroup | undefined {
  return spec.nodes[GROUP_KEY[role]];
}

export interface DeclaredGroup {
  key: GroupKey;
  role: Role;
  group: NodeGroup;
}

/** The node groups the spec declares, in ROLE_ORDER. */
export function declaredGroups(spec: Spec): DeclaredGroup[] {
  return ROLE_ORDER.flatMap((role) => {
    const group = groupOf(spec, role);
    return group === undefined ? [] : [{ key: GROUP_KEY[role], role, group }];
  });
}

/** How many VMs a group declares: its hosts, or its count. */
export function groupSize(group: NodeGroup): number {
  return group.hosts?.length ?? group.count ?? 0;
}
