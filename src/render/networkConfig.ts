import { toYaml } from "./yaml.ts";
import type { Host, Inventory, Nic } from "../inventory/types.ts";

interface Ethernet {
  dhcp4: boolean;
  addresses?: string[];
  routes?: { to: string; via: string }[];
  nameservers?: { addresses?: string[]; search?: string[] };
  mtu?: number;
}

function ethernetOf(inv: Inventory, nic: Nic): Ethernet {
  const { network } = inv.spec;
  // An extra NIC without an address stays unconfigured: dhcp4 false keeps NetworkManager from
  // starting DHCP on it by itself.
  const ethernet: Ethernet = { dhcp4: nic.address === "dhcp" };
  if (nic.address !== undefined && nic.address !== "dhcp") {
    ethernet.addresses = [nic.address];
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

/** cloud-init network-config (version 2): one ethernet per NIC, keyed by the guest's interface name. */
export function renderNetworkConfig(inv: Inventory, host: Host): string {
  const ethernets: Record<string, Ethernet> = {};
  for (const nic of host.nics) ethernets[nic.interface] = ethernetOf(inv, nic);
  return toYaml({ version: 2, ethernets });
}
