import type { Role, Spec, VmSpec } from "../spec/types.ts";

export interface RebootWindow {
  start: string; // "HH:MM"
  end: string; // "HH:MM" (wraps past midnight)
  duration: string; // as written in the spec, e.g. "1h"
}

/** One NIC as Proxmox and the guest see it, in net0, net1 … order. */
export interface Nic {
  index: number; // netN
  interface: string; // guest name, ens18 …
  bridge: string;
  vlan?: number;
  mtu?: number;
  model: string;
  /** Static address with prefix ("10.0.20.31/24"), or "dhcp", or undefined = left unconfigured. */
  address?: string;
}

/** Everything starbase decides about one VM, derived purely from the spec. */
export interface Host {
  name: string;
  role: Role;
  /** Position among the hosts of its role, in declaration order (0-based). */
  index: number;
  pveNode: string;
  vmid: number;
  ip: string; // cluster-network address, no prefix
  fqdn: string; // name.<first search domain>, or name when there is none
  rebootWindow: RebootWindow;
  vm: VmSpec;
  nics: Nic[];
  packages: string[];
}

export interface Inventory {
  spec: Spec;
  /** All hosts: load balancers, then servers, then agents, each in declaration order. */
  hosts: Host[];
  loadBalancers: Host[];
  servers: Host[];
  agents: Host[];
  /** The server that initialises the cluster (cluster-init); the others join through the VIP. */
  firstServer: Host;
  /** The load balancer configured first, as keepalived MASTER. */
  firstLoadBalancer: Host;
  prefixLength: number; // of network.cidr
}
