import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildInventory } from "../../src/inventory/build.ts";
import type { Host, Inventory } from "../../src/inventory/types.ts";
import { renderHost } from "../../src/render/index.ts";
import { renderKeepalived, vrrpAuthPass, vrrpPriority } from "../../src/render/keepalived.ts";
import { createNetns, type Netns } from "../lab/netns.ts";
import { hostNamed, INVENTORIES, minimalSpec, realisticSpec, SECRETS } from "./fixtures.ts";
import { makeScratch, removeScratch } from "./tools.ts";

let netns: Netns;
let scratch: string;

beforeAll(() => {
  scratch = makeScratch("keepalived");
  // The fixtures' VRRP interfaces: ens18 (realistic, unicast) and eth0 (minimal).
  netns = createNetns("sbrnd", [
    { name: "ens18", address: "198.18.20.21/24" },
    { name: "eth0", address: "198.18.30.2/28" },
  ]);
});

afterAll(() => {
  netns?.destroy();
  removeScratch(scratch);
});

function keepalivedConf(inv: Inventory, host: Host): string {
  const file = renderHost(inv, host, SECRETS).find((f) => f.path === "/etc/keepalived/keepalived.conf");
  if (file === undefined) throw new Error(`${host.name} has no keepalived.conf`);
  return file.content;
}

/** keepalived -t inside the namespace; a missing file would "pass" with exit 0, so check it exists. */
function keepalivedCheck(name: string, content: string) {
  const path = join(scratch, name);
  writeFileSync(path, content);
  expect(existsSync(path)).toBe(true);
  return netns.exec(["keepalived", "-t", "-f", path]);
}

function directive(conf: string, key: string): string | undefined {
  return new RegExp(`^\\s*${key} (.+)$`, "m").exec(conf)?.[1];
}

function unicastPeers(conf: string): string[] {
  const block = /unicast_peer \{\n([^}]*)\}/.exec(conf)?.[1] ?? "";
  return block.split("\n").map((l) => l.trim()).filter((l) => l !== "");
}

describe("keepalived.conf", () => {
  for (const { label, inv } of INVENTORIES) {
    for (const host of inv.loadBalancers) {
      test(`${label}/${host.name} passes keepalived -t in a namespace with its interface`, () => {
        const result = keepalivedCheck(`${label}-${host.name}.conf`, keepalivedConf(inv, host));
        expect(result.stderr + result.stdout).not.toContain("doesn't exist");
        expect(result.code).toBe(0);
      });
    }
  }

  test("keepalived -t fails on a render whose interface does not exist", () => {
    const spec = realisticSpec();
    spec.network.interface = "ens99";
    const inv = buildInventory(spec);
    const result = keepalivedCheck("wrong-interface.conf", keepalivedConf(inv, hostNamed(inv, "lb01")));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("ens99");
  });

  test("keepalived -t fails on a broken router id", () => {
    const inv = INVENTORIES[0]!.inv;
    const conf = keepalivedConf(inv, hostNamed(inv, "lb01")).replace(/virtual_router_id \d+/, "virtual_router_id 300");
    expect(keepalivedCheck("bad-vrid.conf", conf).code).not.toBe(0);
  });

  test("the first load balancer is MASTER, the others BACKUP with distinct descending priorities", () => {
    const inv = INVENTORIES[1]!.inv; // three load balancers
    const confs = inv.loadBalancers.map((lb) => keepalivedConf(inv, lb));
    expect(confs.map((c) => directive(c, "state"))).toEqual(["MASTER", "BACKUP", "BACKUP"]);
    const priorities = confs.map((c) => Number(directive(c, "priority")));
    expect(new Set(priorities).size).toBe(priorities.length);
    expect([...priorities].sort((a, b) => b - a)).toEqual(priorities);
    expect(priorities.every((p) => p >= 1 && p <= 254)).toBe(true);
  });

  test("priorities stay distinct and in range for many load balancers, and run out loudly", () => {
    const priorities = Array.from({ length: 101 }, (_, i) => vrrpPriority(i));
    expect(new Set(priorities).size).toBe(101);
    expect(Math.min(...priorities)).toBe(1);
    expect(() => vrrpPriority(101)).toThrow(/no VRRP priority/);
  });

  test("multicast renders no unicast settings; every LB shares router id, VIP and password", () => {
    const inv = INVENTORIES[0]!.inv;
    const confs = inv.loadBalancers.map((lb) => keepalivedConf(inv, lb));
    for (const conf of confs) {
      expect(conf).not.toContain("unicast_src_ip");
      expect(conf).not.toContain("unicast_peer");
      expect(directive(conf, "virtual_router_id")).toBe("51");
      expect(directive(conf, "interface")).toBe("ens18");
      expect(directive(conf, "advert_int")).toBe("1");
      expect(conf).toContain("198.18.20.10/24 dev ens18");
      expect(conf).toMatch(/track_script \{\s*chk_haproxy\s*\}/);
      expect(conf).toContain("enable_script_security");
    }
    const passes = confs.map((c) => directive(c, "auth_pass"));
    expect(passes[0]).toMatch(/^\S{8}$/);
    expect(new Set(passes).size).toBe(1);
  });

  test("unicast: source is this LB's cluster IP and the peers are every other LB", () => {
    const inv = INVENTORIES[1]!.inv;
    const allIps = inv.loadBalancers.map((lb) => lb.ip);
    for (const lb of inv.loadBalancers) {
      const conf = keepalivedConf(inv, lb);
      expect(directive(conf, "unicast_src_ip")).toBe(lb.ip);
      const peers = unicastPeers(conf);
      expect(peers).not.toContain(lb.ip);
      expect(peers.sort()).toEqual(allIps.filter((ip) => ip !== lb.ip).sort());
    }
  });

  test("a lone load balancer in unicast mode renders no empty peer list", () => {
    const inv = buildInventory(minimalSpec());
    const conf = keepalivedConf(inv, hostNamed(inv, "lb01"));
    expect(conf).not.toContain("unicast_peer");
    expect(directive(conf, "state")).toBe("MASTER");
  });

  test("the VRRP password is the configured one, or derived per cluster and secret", () => {
    const inv = INVENTORIES[0]!.inv;
    const lb = hostNamed(inv, "lb01");
    const configured = renderHost(inv, lb, { ...SECRETS, vrrpAuthPass: "s3cr3tQx" });
    expect(configured.find((f) => f.path.endsWith("keepalived.conf"))?.content).toContain("auth_pass s3cr3tQx");
    const derived = vrrpAuthPass("homelab", "secret-a", undefined);
    expect(derived).toHaveLength(8);
    expect(vrrpAuthPass("homelab", "secret-a", undefined)).toBe(derived);
    expect(vrrpAuthPass("homelab", "secret-b", undefined)).not.toBe(derived);
    expect(vrrpAuthPass("other", "secret-a", undefined)).not.toBe(derived);
  });

  test("a configured password keepalived would cut or misparse is refused without echoing it", () => {
    for (const bad of ["toolong123", "has space", "semi#col", ""]) {
      let message = "";
      try {
        vrrpAuthPass("homelab", "secret", bad);
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toContain("authPass");
      if (bad !== "") expect(message).not.toContain(bad);
    }
  });

  test("renderKeepalived is deterministic", () => {
    const inv = INVENTORIES[0]!.inv;
    const lb = hostNamed(inv, "lb02");
    expect(renderKeepalived(inv, lb, "abcdefgh")).toBe(renderKeepalived(inv, lb, "abcdefgh"));
  });
});
