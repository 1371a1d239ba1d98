import type { Host, Inventory, Nic } from "../inventory/types.ts";
import { toYaml } from "./yaml.ts";

export interface Ethernet {
  dhcp4: boolean;
  addresses?: string[];
  routes?: { to: string; via: string }[];
  nameservers?: { addresses?: string[]; search?: string[] };
  mtu?: number;
}

function ethernetOf(inv: Inventory, nic: Nic, address: string): Ethernet {
  const { network } = inv.spec;
  const ethernet: Ethernet = { dhcp4: address === "dhcp" };
  if (address !== "dhcp") {
    ethernet.addresses = [address];
    if (nic.interface === network.interface) {
      // "to: default" is only understood by cloud-init 25.3 and later.
      ethernet.routes = [{ to: "0.0.0.0/0", via: network.gateway }];
      const nameservers: Ethernet["nameservers"] = {};
      if (network.dns.length > 0) nameservers.addresses = [...network.dns];
      if (network.searchDomains.length > 0) nameservers.search = [...network.searchDomains];
      if (Object.keys(nameservers).length > 0) ethernet.nameservers = nameservers;
    }
  }
  if (nic.mtu !== undefined) ethernet.mtu = nic.mtu;
  return ethernet;
}

/**
 * cloud-init network-config (version 2): one ethernet per configured NIC, keyed by the guest's
 * interface name. A NIC without an address is left out: starbase configures nothing on it (an
 * entry without addresses would not stop NetworkManager's own DHCP either).
 */
export function renderNetworkConfig(inv: Inventory, host: Host): string {
  const ethernets: Record<string, Ethernet> = {};
  for (const nic of host.nics) {
    if (nic.address !== undefined) ethernets[nic.interface] = ethernetOf(inv, nic, nic.address);
  }
  return toYaml({ version: 2, ethernets });
}
