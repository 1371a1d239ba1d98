import { describe, expect, test } from "bun:test";
import { isIP } from "node:net";
import {
  addToIpv4,
  cidrContains,
  cidrHasHostBits,
  isIpv6,
  formatIpv4,
  isNetworkOrBroadcast,
  parseCidr,
  parseIpv4,
} from "../../src/net/ip.ts";

function cidr(s: string) {
  const c = parseCidr(s);
  if (c === undefined) throw new Error(`test CIDR ${s} did not parse`);
  return c;
}

function ip(s: string): number {
  const n = parseIpv4(s);
  if (n === undefined) throw new Error(`test IP ${s} did not parse`);
  return n;
}

describe("parseIpv4 / formatIpv4", () => {
  test("parses dotted quads to uint32", () => {
    expect(parseIpv4("0.0.0.0")).toBe(0);
    expect(parseIpv4("10.0.20.31")).toBe(10 * 2 ** 24 + 20 * 256 + 31);
    expect(parseIpv4("255.255.255.255")).toBe(0xffffffff);
    expect(parseIpv4("192.168.1.1")).toBe(0xc0a80101);
  });

  test("rejects malformed addresses", () => {
    for (const bad of ["", "10.0.20", "10.0.20.1.2", "10.0.20.256", "10.0.020.1", "a.b.c.d",
      "10.0.20.-1", "10.0.20.1 ", " 10.0.20.1", "10..20.1", "1e1.0.0.1", "10.0.20.1/24", "0x0a.0.0.1"]) {
      expect(parseIpv4(bad)).toBeUndefined();
    }
  });

  test("format is the inverse of parse", () => {
    for (const s of ["0.0.0.0", "10.0.20.31", "172.16.254.1", "255.255.255.255", "1.2.3.4"]) {
      expect(formatIpv4(ip(s))).toBe(s);
    }
  });
});

describe("parseCidr", () => {
  test("a /24", () => {
    expect(parseCidr("10.0.20.0/24")).toEqual({
      network: ip("10.0.20.0"), prefix: 24, broadcast: ip("10.0.20.255"), size: 256,
    });
  });

  test("/32 is a single address", () => {
    expect(parseCidr("10.0.20.7/32")).toEqual({
      network: ip("10.0.20.7"), prefix: 32, broadcast: ip("10.0.20.7"), size: 1,
    });
  });

  test("/31 has two addresses", () => {
    expect(parseCidr("10.0.20.6/31")).toEqual({
      network: ip("10.0.20.6"), prefix: 31, broadcast: ip("10.0.20.7"), size: 2,
    });
    expect(parseCidr("10.0.20.7/31")).toBeUndefined();
  });

  test("/0 is the whole address space", () => {
    expect(parseCidr("0.0.0.0/0")).toEqual({ network: 0, prefix: 0, broadcast: 0xffffffff, size: 2 ** 32 });
    expect(parseCidr("10.0.0.0/0")).toBeUndefined();
  });

  test("host bits set: not a network, and cidrHasHostBits says why", () => {
    expect(parseCidr("10.0.20.5/24")).toBeUndefined();
    expect(cidrHasHostBits("10.0.20.5/24")).toBe(true);
    expect(cidrHasHostBits("10.0.20.0/24")).toBe(false);
    expect(cidrHasHostBits("10.0.20.7/32")).toBe(false);
    expect(cidrHasHostBits("garbage")).toBe(false);
  });

  test("rejects malformed CIDRs", () => {
    for (const bad of ["10.0.20.0", "10.0.20.0/", "10.0.20.0/33", "10.0.20.0/024", "10.0.20.0/-1",
      "10.0.20/24", "/24", "10.0.20.0/24/1", "10.0.20.0/2a"]) {
      expect(parseCidr(bad)).toBeUndefined();
    }
  });
});

describe("cidrContains", () => {
  test("bounds are inclusive", () => {
    const c = cidr("10.0.20.0/24");
    expect(cidrContains(c, ip("10.0.20.0"))).toBe(true);
    expect(cidrContains(c, ip("10.0.20.255"))).toBe(true);
    expect(cidrContains(c, ip("10.0.19.255"))).toBe(false);
    expect(cidrContains(c, ip("10.0.21.0"))).toBe(false);
  });

  test("/32 contains only itself, /0 contains everything", () => {
    const single = cidr("10.0.20.7/32");
    expect(cidrContains(single, ip("10.0.20.7"))).toBe(true);
    expect(cidrContains(single, ip("10.0.20.8"))).toBe(false);
    const all = cidr("0.0.0.0/0");
    expect(cidrContains(all, 0)).toBe(true);
    expect(cidrContains(all, 0xffffffff)).toBe(true);
  });
});

describe("addToIpv4", () => {
  test("carries across octets", () => {
    expect(addToIpv4(ip("10.0.20.255"), 1)).toBe(ip("10.0.21.0"));
    expect(addToIpv4(ip("10.0.20.31"), 5)).toBe(ip("10.0.20.36"));
    expect(addToIpv4(ip("10.0.20.31"), -31)).toBe(ip("10.0.20.0"));
  });

  test("undefined when leaving the address space", () => {
    expect(addToIpv4(0xffffffff, 1)).toBeUndefined();
    expect(addToIpv4(0, -1)).toBeUndefined();
    expect(addToIpv4(ip("255.255.255.254"), 1)).toBe(0xffffffff);
    expect(addToIpv4(0, 0.5)).toBeUndefined();
  });
});

describe("isNetworkOrBroadcast", () => {
  test("a /24 reserves its first and last address", () => {
    const c = cidr("10.0.20.0/24");
    expect(isNetworkOrBroadcast(c, ip("10.0.20.0"))).toBe(true);
    expect(isNetworkOrBroadcast(c, ip("10.0.20.255"))).toBe(true);
    expect(isNetworkOrBroadcast(c, ip("10.0.20.1"))).toBe(false);
    expect(isNetworkOrBroadcast(c, ip("10.0.20.254"))).toBe(false);
  });

  test("/31 and /32 have no reserved addresses", () => {
    const p2p = cidr("10.0.20.6/31");
    expect(isNetworkOrBroadcast(p2p, ip("10.0.20.6"))).toBe(false);
    expect(isNetworkOrBroadcast(p2p, ip("10.0.20.7"))).toBe(false);
    expect(isNetworkOrBroadcast(cidr("10.0.20.7/32"), ip("10.0.20.7"))).toBe(false);
  });

  test("/0 reserves 0.0.0.0 and 255.255.255.255", () => {
    const all = cidr("0.0.0.0/0");
    expect(isNetworkOrBroadcast(all, 0)).toBe(true);
    expect(isNetworkOrBroadcast(all, 0xffffffff)).toBe(true);
    expect(isNetworkOrBroadcast(all, 1)).toBe(false);
  });
});

describe("isIpv6", () => {
  test("agrees with node:net on addresses (zone ids, which no certificate carries, aside)", () => {
    const samples = ["fd00::10", "::1", "::", "::ffff:10.0.0.1", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8:9", "fd00:::1", "10.0.0.1",
      "gggg::1", "[::1]", "fd00::1]/x", "1::2::3", ":1", "1:", "", "k8s.lan"];
    for (const sample of samples) expect([sample, isIpv6(sample)]).toEqual([sample, isIP(sample) === 6]);
  });
});
