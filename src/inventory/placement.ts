import type { HostEntry } from "../spec/types.ts";

/**
 * The Proxmox node of each host of one type, in declaration order.
 *
 * The i-th host of the type (0-based, pinned hosts counted too) goes to nodes[i mod N] unless
 * it pins `pveNode`. Because the position depends only on i, pinning a host never shifts any
 * other host, and appending a host never moves an existing one. Every type starts again at
 * nodes[0], as the concept document's table shows.
 */
export function placeHosts(hosts: readonly HostEntry[], nodes: readonly string[]): string[] {
  return hosts.map((host, index) => {
    if (host.pveNode !== undefined) return host.pveNode;
    const node = nodes[index % nodes.length];
    if (node === undefined) throw new Error(`cannot place ${host.name}: proxmox.nodes is empty`);
    return node;
  });
}
