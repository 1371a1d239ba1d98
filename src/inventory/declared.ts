import type { HostEntry, NodeGroup, Role } from "../spec/types.ts";
import { countedName, namePrefixOf } from "./names.ts";

/**
 * The hosts a group declares, in declaration order: its explicit `hosts` list, or `count`
 * generated entries (name only). When both are present, the schema has already complained;
 * the explicit list wins so that nothing here throws.
 */
export function declaredHosts(group: NodeGroup, role: Role): HostEntry[] {
  if (group.hosts !== undefined) return group.hosts;
  const prefix = namePrefixOf(role, group.namePrefix);
  const count = group.count !== undefined && Number.isInteger(group.count) && group.count > 0 ? group.count : 0;
  return Array.from({ length: count }, (_, index) => ({ name: countedName(prefix, index) }));
}
