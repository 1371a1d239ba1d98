import { cidrContains, cidrHasHostBits, formatIpv4, isNetworkOrBroadcast, parseCidr, parseIpv4, type Cidr } from "../net/ip.ts";
import { quote, specIssue } from "./diagnostics.ts";
import { formatPath } from "./paths.ts";
import type { Rule } from "./rules.ts";
import type { Spec, SpecIssue, SpecPath } from "./types.ts";

/** "10.0.20.5/24" → "10.0.20.0/24", the network the user most likely meant. */
function networkOf(text: string): string {
  const [address, prefixText] = text.split("/");
  const ip = parseIpv4(address ?? "") ?? 0;
  const size = 2 ** (32 - Number(prefixText));
  return `${formatIpv4(Math.floor(ip / size) * size)}/${prefixText}`;
}

/** A /8 is already far more than one bridge holds; anything wider is a mistake (0.0.0.0/0: "anything"). */
const WIDEST_PREFIX = 8;

function cidrIssues(spec: Spec): SpecIssue[] {
  const text = spec.network.cidr;
  const path = ["network", "cidr"];
  const cidr = parseCidr(text);
  if (cidr === undefined) {
    if (cidrHasHostBits(text)) return [specIssue("error", path, `network.cidr: "${text}" has host bits set`, `did you mean "${networkOf(text)}"?`)];
    return [specIssue("error", path, `network.cidr: ${quote(text, 18)} is not an IPv4 network like 10.0.20.0/24`)];
  }
  if (cidr.prefix < WIDEST_PREFIX) {
    return [specIssue("error", path, `network.cidr: ${text} is too wide for a VM network (${cidr.size} addresses)`, "give the network the VMs' bridge is on, e.g. 10.0.20.0/24")];
  }
  return [];
}

/**
 * An address the spec declares (gateway, VIP, a host's ip or ipStart) must lie in the
 * cluster network.
 */
function outsideIssue(cidr: Cidr, cidrText: string, path: SpecPath, address: string): SpecIssue | undefined {
  const ip = parseIpv4(address);
  if (ip === undefined || cidrContains(cidr, ip)) return undefined;
  return specIssue("error", path, `${formatPath(path)}: ${address} is outside network.cidr ${cidrText}`);
}

function reservedIssue(cidr: Cidr, cidrText: string, path: SpecPath, address: string): SpecIssue | undefined {
  const ip = parseIpv4(address);
  if (ip === undefined || !isNetworkOrBroadcast(cidr, ip)) return undefined;
  const which = ip === cidr.network ? "network" : "broadcast";
  return specIssue("error", path, `${formatPath(path)}: ${address} is the ${which} address of ${cidrText}`, "choose a host address inside the network");
}

/**
 * The gateway and the VIP must be usable host addresses of network.cidr. Host addresses,
 * written or derived from ipStart, are inventory/'s to check (inventoryIssues), so that each
 * problem is reported once.
 */
function addressIssues(spec: Spec): SpecIssue[] {
  const cidrText = spec.network.cidr;
  const cidr = parseCidr(cidrText);
  if (cidr === undefined) return []; // cidrIssues says why

  const issues: (SpecIssue | undefined)[] = [];
  const gateway = spec.network.gateway;
  issues.push(outsideIssue(cidr, cidrText, ["network", "gateway"], gateway));
  issues.push(reservedIssue(cidr, cidrText, ["network", "gateway"], gateway));

  const vipPath = ["loadBalancer", "vip"];
  const vip = spec.loadBalancer.vip;
  issues.push(outsideIssue(cidr, cidrText, vipPath, vip));
  issues.push(reservedIssue(cidr, cidrText, vipPath, vip));
  if (vip === gateway) issues.push(specIssue("error", vipPath, `loadBalancer.vip: ${vip} is the gateway`, "the VIP needs an address of its own"));

  return issues.filter((issue): issue is SpecIssue => issue !== undefined);
}

/** The cluster network's own rules, with what they read (see rules.ts). */
export const addressRules: Rule<Spec>[] = [
  { inputs: [["network", "cidr"]], check: cidrIssues },
  { inputs: [["network", "cidr"], ["network", "gateway"], ["loadBalancer", "vip"]], check: addressIssues },
];
