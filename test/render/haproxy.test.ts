import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Host, Inventory } from "../../src/inventory/types.ts";
import { renderHost } from "../../src/render/index.ts";
import { INVENTORIES, hostNamed, SECRETS } from "./fixtures.ts";
import { makeScratch, removeScratch, runTool } from "./tools.ts";

let scratch: string;
beforeAll(() => {
  scratch = makeScratch("haproxy");
});
afterAll(() => removeScratch(scratch));

function haproxyCfg(inv: Inventory, host: Host): string {
  const file = renderHost(inv, host, SECRETS).find((f) => f.path === "/etc/haproxy/haproxy.cfg");
  if (file === undefined) throw new Error(`${host.name} has no haproxy.cfg`);
  return file.content;
}

function haproxyCheck(name: string, content: string) {
  const path = join(scratch, name);
  writeFileSync(path, content);
  return runTool(["haproxy", "-c", "-f", path]);
}

/** The lines of one section ("backend rke2-api-servers"), up to the next section. */
function section(cfg: string, header: string): string[] {
  const lines = cfg.split("\n");
  const start = lines.indexOf(header);
  if (start < 0) throw new Error(`no section ${header}`);
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((line) => /^\S/.test(line));
  return (end < 0 ? rest : rest.slice(0, end)).map((l) => l.trim()).filter((l) => l !== "" && !l.startsWith("#"));
}

describe("haproxy.cfg", () => {
  for (const { label, inv } of INVENTORIES) {
    for (const host of inv.loadBalancers) {
      test(`${label}/${host.name} passes haproxy -c`, () => {
        const result = haproxyCheck(`${label}-${host.name}.cfg`, haproxyCfg(inv, host));
        expect(result.stderr + result.stdout).not.toMatch(/ALERT|WARNING/);
        expect(result.code).toBe(0);
      });
    }
  }

  test("haproxy -c fails on a broken render", () => {
    const inv = INVENTORIES[0]!.inv;
    const broken = haproxyCfg(inv, hostNamed(inv, "lb01")).replace("check-ssl verify none", "check-ssl");
    const result = haproxyCheck("broken.cfg", broken);
    expect(result.code).not.toBe(0);
  });

  test("both backends list every server by IP, named after the host", () => {
    const inv = INVENTORIES[0]!.inv;
    const cfg = haproxyCfg(inv, hostNamed(inv, "lb02"));
    const servers = (backend: string) => section(cfg, `backend ${backend}`).filter((l) => l.startsWith("server "));
    const expected = inv.servers.map((s) => [s.name, s.ip]);
    expect(servers("rke2-api-servers").map((l) => l.split(" ").slice(1, 3))).toEqual(
      expected.map(([name, ip]) => [name!, `${ip}:6443`]),
    );
    expect(servers("rke2-registration-servers").map((l) => l.split(" ").slice(1, 3))).toEqual(
      expected.map(([name, ip]) => [name!, `${ip}:9345`]),
    );
  });

  test("frontends bind the wildcard on 6443 and 9345, so no ip_nonlocal_bind is needed", () => {
    const inv = INVENTORIES[0]!.inv;
    const cfg = haproxyCfg(inv, hostNamed(inv, "lb01"));
    expect(section(cfg, "frontend rke2-api")).toContain("bind *:6443");
    expect(section(cfg, "frontend rke2-registration")).toContain("bind *:9345");
    expect(cfg).not.toContain(inv.spec.loadBalancer.vip);
    const userData = renderHost(inv, hostNamed(inv, "lb01"), SECRETS).find((f) => f.path === "user-data")?.content;
    expect(userData).not.toContain("ip_nonlocal_bind");
  });

  test("registration is checked with TLS GET /ping expecting pong; the API with a TCP check", () => {
    const inv = INVENTORIES[0]!.inv;
    const cfg = haproxyCfg(inv, hostNamed(inv, "lb01"));
    const registration = section(cfg, "backend rke2-registration-servers");
    expect(registration).toContain("option httpchk GET /ping");
    expect(registration).toContain("http-check expect string pong");
    expect(registration).toContain("balance roundrobin");
    for (const line of registration.filter((l) => l.startsWith("server "))) {
      expect(line).toEndWith("check check-ssl verify none");
    }
    const api = section(cfg, "backend rke2-api-servers");
    expect(api).toContain("balance roundrobin");
    expect(api.some((l) => l.startsWith("option httpchk"))).toBe(false);
    for (const line of api.filter((l) => l.startsWith("server "))) expect(line).toEndWith(" check");
    for (const backend of [registration, api]) {
      expect(backend.find((l) => l.startsWith("default-server"))).toMatch(/inter \S+ .*fall \d+ rise \d+/);
    }
  });

  test("defaults are TCP with long client/server timeouts for watches", () => {
    const inv = INVENTORIES[0]!.inv;
    const defaults = section(haproxyCfg(inv, hostNamed(inv, "lb01")), "defaults");
    expect(defaults).toContain("mode tcp");
    expect(defaults).toContain("option tcplog");
    for (const timeout of ["connect", "client", "server", "check"]) {
      expect(defaults.some((l) => l.startsWith(`timeout ${timeout} `))).toBe(true);
    }
    expect(defaults).toContain("timeout client 1h");
    expect(defaults).toContain("timeout server 1h");
  });

  test("every load balancer of a cluster gets the same haproxy.cfg except for its name in the header", () => {
    const inv = INVENTORIES[1]!.inv;
    const bodies = inv.loadBalancers.map((lb) => haproxyCfg(inv, lb).split("\n").slice(1).join("\n"));
    expect(new Set(bodies).size).toBe(1);
  });
});
