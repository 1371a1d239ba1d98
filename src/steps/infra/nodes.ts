// Which Proxmox nodes the infra steps touch, derived from the inventory.

import type { Inventory } from "../../inventory/types.ts";

/** Nodes that run VMs of the spec. */
export function vmNodes(inv: Inventory): string[] {
  return [...new Set(inv.hosts.map((h) => h.pveNode))];
}

/** Nodes that get the image: the declared ones, in order, then any a host is pinned to. */
export function imageNodes(inv: Inventory): string[] {
  return [...new Set([...inv.spec.proxmox.nodes, ...vmNodes(inv)])];
}
