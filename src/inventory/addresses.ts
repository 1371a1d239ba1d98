import type { HostEntry } from "../spec/types.ts";
import { addToIpv4, parseIpv4 } from "../net/ip.ts";

/**
 * The host's cluster-network address as uint32: its own `ip`, or the type's ipStart + its
 * index among the hosts of the type. undefined when there is nothing to derive it from,
 * the text is no IPv4 address, or the sum runs past 255.255.255.255.
 */
export function hostIp(host: HostEntry, index: number, ipStart: string | undefined): number | undefined {
  if (host.ip !== undefined) return parseIpv4(host.ip);
  const start = ipStart === undefined ? undefined : parseIpv4(ipStart);
  return start === undefined ? undefined : addToIpv4(start, index);
}
