import type { ExtraNetwork, NetworkSpec } from "../spec/types.ts";
import type { Nic } from "./types.ts";

function nicOf(index: number, net: ExtraNetwork | NetworkSpec, address: string | undefined): Nic {
  const nic: Nic = { index, interface: net.interface, bridge: net.bridge, model: net.model };
  if (net.vlan !== undefined) nic.vlan = net.vlan;
  if (net.mtu !== undefined) nic.mtu = net.mtu;
  if (address !== undefined) nic.address = address;
  return nic;
}

/**
 * net0 is the cluster network with the host's static address; then the extra networks every
 * node gets, then those of the host's type. Extra NICs are DHCP or left unconfigured.
 */
export function hostNics(
  network: NetworkSpec,
  clusterExtras: readonly ExtraNetwork[],
  groupExtras: readonly ExtraNetwork[],
  address: string,
): Nic[] {
  const extras = [...clusterExtras, ...groupExtras];
  return [
    nicOf(0, network, address),
    ...extras.map((net, i) => nicOf(i + 1, net, net.dhcp ? "dhcp" : undefined)),
  ];
}
