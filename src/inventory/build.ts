import { groupOf } from "../spec/groups.ts";
import type { Role, Spec } from "../spec/types.ts";
import type { Host, Inventory, RebootWindow } from "./types.ts";
import { formatIpv4, parseCidr } from "../net/ip.ts";
import { hostIp } from "./addresses.ts";
import { declaredHosts } from "./declared.ts";
import { hostFqdn } from "./names.ts";
import { hostNics } from "./nics.ts";
import { hostPackages } from "./packages.ts";
import { placeHosts } from "./placement.ts";
import { rebootWindows, windowOfHost } from "./reboot-windows.ts";
import { hostVmid } from "./vmids.ts";

// buildInventory runs only on a spec that validation and inventoryIssues accepted; a value
// that cannot be derived here is a caller's mistake, so it throws instead of guessing.
function required<T>(value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`inventory: ${what} (run inventoryIssues first)`);
  return value;
}

function hostsOfRole(spec: Spec, role: Role, prefixLength: number, windows: readonly RebootWindow[]): Host[] {
  const group = groupOf(spec, role);
  if (group === undefined) return [];
  const declared = declaredHosts(group, role);
  const nodes = placeHosts(declared, spec.proxmox.nodes);
  return declared.map((entry, index) => {
    const ip = formatIpv4(required(hostIp(entry, index, group.ipStart), `${entry.name} has no valid IP address`));
    return {
      name: entry.name,
      role,
      index,
      pveNode: required(nodes[index], `${entry.name} has no Proxmox node`),
      vmid: hostVmid(entry, index, group.vm.vmidStart),
      ip,
      fqdn: hostFqdn(entry.name, spec.network.searchDomains),
      rebootWindow: required(windowOfHost(windows, index), "updates defines no reboot window"),
      vm: group.vm,
      nics: hostNics(spec.network, spec.extraNetworks, group.extraNetworks ?? [], `${ip}/${prefixLength}`),
      packages: hostPackages(spec.packages, role, group.packages ?? []),
    };
  });
}

/** Every host starbase manages, derived purely from the spec: load balancers, servers, agents, each in declaration order. */
export function buildInventory(spec: Spec): Inventory {
  const cidr = required(parseCidr(spec.network.cidr), `network.cidr "${spec.network.cidr}" is not a network`);
  const { rebootSlots, minuteOffsets, windowDuration } = spec.updates;
  const windows = rebootWindows(rebootSlots, minuteOffsets, windowDuration);
  const loadBalancers = hostsOfRole(spec, "loadbalancer", cidr.prefix, windows);
  const servers = hostsOfRole(spec, "server", cidr.prefix, windows);
  const agents = hostsOfRole(spec, "agent", cidr.prefix, windows);
  return {
    spec,
    hosts: [...loadBalancers, ...servers, ...agents],
    loadBalancers,
    servers,
    agents,
    firstServer: required(servers[0], "the spec has no server"),
    firstLoadBalancer: required(loadBalancers[0], "the spec has no load balancer"),
    prefixLength: cidr.prefix,
  };
}
