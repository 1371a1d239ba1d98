import { declaredGroups } from "../spec/groups.ts";
import type { Spec, SpecPath } from "../spec/types.ts";
import { type Cidr, cidrContains, formatIpv4, isNetworkOrBroadcast, parseCidr, parseIpv4 } from "../net/ip.ts";
import { hostIp } from "./addresses.ts";
import { type DerivedHost, isGenerated } from "./derived.ts";
import type { Finding } from "./findings.ts";

interface Network {
  cidrText: string;
  cidr: Cidr | undefined; // undefined: spec validation reports the CIDR itself
  gateway: number | undefined;
  vip: number | undefined;
}

const error = (path: SpecPath, kind: string, text: string, hint?: string): Finding =>
  hint === undefined ? { severity: "error", path, kind, text } : { severity: "error", path, kind, text, hint };

function ipStartPath(host: DerivedHost): SpecPath {
  return [...host.groupPath, "ipStart"];
}

/** ipStart values that are no address, and count groups with nothing to derive addresses from. */
function groupFindings(spec: Spec): Finding[] {
  return declaredGroups(spec).flatMap(({ key, group }) => {
    const path: SpecPath = ["nodes", key];
    if (group.ipStart !== undefined && parseIpv4(group.ipStart) === undefined) {
      return [error([...path, "ipStart"], "syntax", `ipStart "${group.ipStart}" is not an IPv4 address`)];
    }
    if (group.hosts === undefined && (group.count ?? 0) > 0 && group.ipStart === undefined) {
      return [error(path, "no-ip", `nodes.${key} sets count but no ipStart, so its hosts get no address`,
        "add ipStart: the address of the first host; the others follow it")];
    }
    return [];
  });
}

/**
 * Where to point for a derived address outside the CIDR: at count when ipStart itself is fine
 * and the range simply runs too far, else at ipStart.
 */
function derivedOutsidePath(host: DerivedHost, net: Network): SpecPath {
  const start = host.group.ipStart === undefined ? undefined : parseIpv4(host.group.ipStart);
  const startInside = start !== undefined && net.cidr !== undefined && cidrContains(net.cidr, start);
  return startInside && isGenerated(host) ? [...host.groupPath, "count"] : ipStartPath(host);
}

/** The host's address, or the finding that explains why it has none. */
function addressOf(host: DerivedHost, net: Network): number | Finding | undefined {
  const { entry, entryPath, name, index, group } = host;
  const ip = hostIp(entry, index, group.ipStart);
  if (ip !== undefined) return ip;
  if (entry.ip !== undefined && entryPath !== undefined) {
    return error([...entryPath, "ip"], "syntax", `${name} has ip "${entry.ip}", which is not an IPv4 address`);
  }
  if (group.ipStart === undefined) {
    return entryPath === undefined
      ? undefined // reported once for the whole count group
      : error(entryPath, "no-ip", `${name} has no ip, and ${host.groupPath.join(".")} has no ipStart to derive one from`);
  }
  if (parseIpv4(group.ipStart) === undefined) return undefined; // reported once at ipStart
  return error(derivedOutsidePath(host, net), "outside",
    `${name} would get an address past 255.255.255.255 (ipStart + ${index})`);
}

function subject(host: DerivedHost, ip: number): string {
  return host.entry.ip !== undefined
    ? `${host.name} has ip ${formatIpv4(ip)}`
    : `${host.name} would get ${formatIpv4(ip)} (ipStart + ${host.index})`;
}

function ipPath(host: DerivedHost): SpecPath {
  return host.entry.ip !== undefined && host.entryPath !== undefined ? [...host.entryPath, "ip"] : ipStartPath(host);
}

/** What is wrong with an address on its own (not counting other hosts). */
function placementFindings(host: DerivedHost, ip: number, net: Network): Finding[] {
  const text = (problem: string) => `${subject(host, ip)}, ${problem}`;
  if (net.cidr !== undefined && !cidrContains(net.cidr, ip)) {
    const path = host.entry.ip !== undefined ? ipPath(host) : derivedOutsidePath(host, net);
    return [error(path, "outside", text(`outside network.cidr ${net.cidrText}`))];
  }
  const findings: Finding[] = [];
  if (net.cidr !== undefined && isNetworkOrBroadcast(net.cidr, ip)) {
    const which = ip === net.cidr.network ? "network" : "broadcast";
    findings.push(error(ipPath(host), "reserved", text(`the ${which} address of ${net.cidrText}`)));
  }
  if (ip === net.gateway) findings.push(error(ipPath(host), "gateway", text("the gateway (network.gateway)")));
  if (ip === net.vip) findings.push(error(ipPath(host), "vip", text("the load balancer VIP (loadBalancer.vip)")));
  return findings;
}

/**
 * Every final cluster-network address: inside network.cidr, not its network or broadcast
 * address, not the gateway or the VIP, and unique across all host types.
 */
export function ipFindings(spec: Spec, hosts: readonly DerivedHost[]): Finding[] {
  const net: Network = {
    cidrText: spec.network.cidr,
    cidr: parseCidr(spec.network.cidr),
    gateway: parseIpv4(spec.network.gateway),
    vip: parseIpv4(spec.loadBalancer.vip),
  };
  const findings = groupFindings(spec);
  const owners = new Map<number, DerivedHost>();
  for (const host of hosts) {
    const address = addressOf(host, net);
    if (address === undefined) continue;
    if (typeof address !== "number") {
      findings.push(address);
      continue;
    }
    findings.push(...placementFindings(host, address, net));
    const owner = owners.get(address);
    if (owner === undefined) owners.set(address, host);
    else findings.push(error(ipPath(host), "duplicate", `${subject(host, address)}, already used by ${owner.name}`));
  }
  return findings;
}
