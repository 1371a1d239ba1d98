// IPv4 arithmetic on unsigned 32-bit numbers. Pure; no DNS. IPv6 only recognised (isIpv6).

export interface Cidr {
  network: number; // first address (host bits cleared)
  prefix: number; // 0..32
  broadcast: number; // last address
  size: number; // number of addresses, 2^(32-prefix)
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** "10.0.20.31" → uint32; undefined for anything that is not four decimal octets (no leading zeros). */
export function parseIpv4(s: string): number | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const part of parts) {
    if (!OCTET.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    n = n * 256 + octet;
  }
  return n;
}

export function formatIpv4(n: number): string {
  const u = n >>> 0;
  return [u >>> 24, (u >>> 16) & 255, (u >>> 8) & 255, u & 255].join(".");
}

function splitCidr(s: string): { address: number; prefix: number } | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const address = parseIpv4(s.slice(0, slash));
  const prefixText = s.slice(slash + 1);
  if (address === undefined || !/^(0|[1-9][0-9]?)$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  return prefix <= 32 ? { address, prefix } : undefined;
}

/**
 * "10.0.20.0/24" → network, prefix, broadcast, size. An address with host bits set
 * ("10.0.20.5/24") is not a network: undefined. Use cidrHasHostBits to tell the user why.
 */
export function parseCidr(s: string): Cidr | undefined {
  const parsed = splitCidr(s);
  if (parsed === undefined) return undefined;
  // A power of two, not a shift: 1 << 32 wraps to 1 at prefix 0.
  const size = 2 ** (32 - parsed.prefix);
  if (parsed.address % size !== 0) return undefined;
  return { network: parsed.address, prefix: parsed.prefix, broadcast: parsed.address + size - 1, size };
}

/** True when s is syntactically a CIDR but its address is not the network address ("10.0.20.5/24"). */
export function cidrHasHostBits(s: string): boolean {
  const parsed = splitCidr(s);
  return parsed !== undefined && parsed.address % 2 ** (32 - parsed.prefix) !== 0;
}

export function cidrContains(cidr: Cidr, ip: number): boolean {
  return ip >= cidr.network && ip <= cidr.broadcast;
}

/** ip + n, or undefined when the result leaves 0.0.0.0..255.255.255.255. */
export function addToIpv4(ip: number, n: number): number | undefined {
  const sum = ip + n;
  return Number.isInteger(sum) && sum >= 0 && sum <= 0xffffffff ? sum : undefined;
}

/**
 * True for the network and broadcast address of a subnet that has them. /31 (RFC 3021)
 * and /32 have no network or broadcast address: both addresses of a /31 are usable hosts.
 */
export function isNetworkOrBroadcast(cidr: Cidr, ip: number): boolean {
  if (cidr.prefix >= 31) return false;
  return ip === cidr.network || ip === cidr.broadcast;
}

/**
 * Whether text is an IPv6 address ("fd00::10", "::ffff:10.0.0.1"), without a zone or brackets.
 * The WHATWG URL host parser implements the full syntax; node:net's isIP would cost its import.
 */
export function isIpv6(text: string): boolean {
  return /^[0-9A-Fa-f:.]+$/.test(text) && text.includes(":") && URL.canParse(`http://[${text}]/`);
}
