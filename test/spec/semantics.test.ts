import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadSpecText } from "../../src/spec/load.ts";
import { specIssues } from "../../src/spec/semantics.ts";
import type { Spec, SpecIssue } from "../../src/spec/types.ts";

const BASE = readFileSync(join(import.meta.dir, "valid-base.yaml"), "utf8");

/** The base spec with text replacements applied, schema-checked and defaulted. */
function specWith(...edits: [string, string][]): Spec {
  let text = BASE;
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`base has no ${from}`);
    text = text.replace(from, to);
  }
  const loaded = loadSpecText(text, "c.yaml");
  if (loaded.spec === undefined) throw new Error(loaded.diagnostics.map((d) => d.message).join("; "));
  return loaded.spec;
}

const summary = (issues: SpecIssue[]) => issues.map((i) => `${i.severity} ${i.path.join(".")}: ${i.message}`);

test("the base has no issues", () => {
  expect(specIssues(specWith())).toEqual([]);
});

describe("server count", () => {
  const servers = (count: number) =>
    specWith(["    hosts:\n      - { name: server01, ip: 10.0.20.31 }\n", `    count: ${count}\n    ipStart: 10.0.20.31\n`]);

  test("odd counts are quiet", () => {
    expect(specIssues(servers(1))).toEqual([]);
    expect(specIssues(servers(3))).toEqual([]);
  });

  test("an even count warns at count", () => {
    expect(summary(specIssues(servers(4)))).toEqual([
      "warning nodes.servers.count: nodes.servers: 4 servers survive no more failures than 3 would (etcd needs a majority)",
    ]);
  });
});

describe("addresses", () => {
  test("in a /31 both addresses are hosts: the first may be the gateway", () => {
    const spec = specWith(
      ["cidr: 10.0.20.0/24", "cidr: 10.0.20.0/31"],
      ["gateway: 10.0.20.1", "gateway: 10.0.20.0"],
      ["vip: 10.0.20.10", "vip: 10.0.20.1"],
      ["{ name: lb01, ip: 10.0.20.21 }", "{ name: lb01, ip: 10.0.20.1 }"],
      ["{ name: server01, ip: 10.0.20.31 }", "{ name: server01, ip: 10.0.20.0 }"],
      ["ipStart: 10.0.20.41", "ipStart: 10.0.20.1"],
    );
    expect(summary(specIssues(spec))).toEqual([]);
  });

  test("an unusable CIDR stops the checks that depend on it", () => {
    const spec = specWith(["cidr: 10.0.20.0/24", "cidr: 10.0.20.0"], ["gateway: 10.0.20.1", "gateway: 192.168.0.1"]);
    expect(summary(specIssues(spec))).toEqual(['error network.cidr: network.cidr: "10.0.20.0" is not an IPv4 network like 10.0.20.0/24']);
  });
});

describe("trust and secrets", () => {
  test("each single TLS choice is accepted", () => {
    const tls = /tls: \{ fingerprint: "[0-9A-F]+" \}/.exec(BASE)?.[0] ?? "";
    expect(specIssues(specWith([tls, "tls: { ca: ./pve-ca.pem }"]))).toEqual([]);
    expect(specIssues(specWith([tls, "tls: { ca: ./pve-ca.pem, insecure: false }"]))).toEqual([]);
  });

  test("a pin next to insecure: true is two choices", () => {
    const spec = specWith(['AF" }', 'AF", insecure: true }']);
    expect(summary(specIssues(spec))).toEqual([
      "error proxmox.tls: proxmox.tls: set only one of fingerprint, ca or insecure: true, not fingerprint and insecure: true",
    ]);
  });

  test("the inline-secret warning never contains the secret", () => {
    const spec = specWith(["{ env: STARBASE_HOSTKEY_SECRET }", '"correct-horse-battery"'], ["  vip: 10.0.20.10\n", "  vip: 10.0.20.10\n  vrrp: { authPass: hunter22 }\n"]);
    const issues = specIssues(spec);
    expect(summary(issues)).toEqual([
      "warning ssh.hostKeySecret: inline secret in ssh.hostKeySecret; use { env: … } or { file: … }",
      "warning loadBalancer.vrrp.authPass: inline secret in loadBalancer.vrrp.authPass; use { env: … } or { file: … }",
    ]);
    expect(JSON.stringify(issues)).not.toContain("correct-horse");
    expect(JSON.stringify(issues)).not.toContain("hunter22");
  });
});

describe("the rest", () => {
  test("window durations of minutes, hours or both below a day are fine", () => {
    for (const duration of ["90m", "1h30m", "23h59m", "1m"]) {
      expect(specIssues(specWith(["windowDuration: 1h", `windowDuration: ${duration}`]))).toEqual([]);
    }
    expect(summary(specIssues(specWith(["windowDuration: 1h", "windowDuration: 1440m"])))).toEqual([
      'error updates.windowDuration: updates.windowDuration: "1440m" must be shorter than a day',
    ]);
  });

  test("a host pinned to a listed node is fine; balloon equal to memory is fine", () => {
    const spec = specWith(
      ["{ name: server01, ip: 10.0.20.31 }", "{ name: server01, ip: 10.0.20.31, pveNode: node02 }"],
      ["vm: { cores: 4, memory: 8192 }", "vm: { cores: 4, memory: 8192, balloon: 8192 }"],
    );
    expect(specIssues(spec)).toEqual([]);
  });

  test("a pinned image checksum satisfies the verification rule", () => {
    const spec = specWith(["  windowDuration: 1h\n", `  windowDuration: 1h\nimage: { url: https://images.example/os.qcow2, checksum: ${"ab".repeat(32)} }\n`]);
    expect(specIssues(spec)).toEqual([]);
  });

  test("issues come with the path of the value to blame", () => {
    const spec = specWith(["name: lb01", "name: lb_01"], ["vip: 10.0.20.10", "vip: 10.0.20.1"]);
    expect(specIssues(spec).map((i) => i.path)).toEqual([
      ["nodes", "loadBalancers", "hosts", 0, "name"],
      ["loadBalancer", "vip"],
    ]);
  });
});
