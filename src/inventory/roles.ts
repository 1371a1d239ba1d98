import type { NodeGroup, Role, Spec } from "../spec/types.ts";

/** The order in which host types appear in the inventory: load balancers, servers, agents. */
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
