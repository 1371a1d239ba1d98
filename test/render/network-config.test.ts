import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { Host, Inventory } from "../../src/inventory/types.ts";
import { renderHost } from "../../src/render/index.ts";
import { hostNamed, INVENTORIES, SECRETS } from "./fixtures.ts";
import { makeScratch, removeScratch, runTool } from "./tools.ts";
import type { Ethernet } from "../../src/render/network-config.ts";

let scratch: string;
beforeAll(() => {
  scratch = makeScratch("netcfg");
});
afterAll(() => removeScratch(scratch));

function networkConfigText(inv: Inventory, host: Host): string {
  const file = renderHost(inv, host, SECRETS).find((f) => f.path === "network-config");
  if (file === undefined) throw new Error(`${host.name} has no network-config`);
  return file.content;
}

/** netplan generate into a private root; returns the result and the generated networkd files. */
function netplanGenerate(name: string, content: string) {
  const root = join(scratch, name);
  mkdirSync(join(root, "etc/netplan"), { recursive: true });
  const path = join(root, "etc/netplan/50-cloud-init.yaml");
  // A NoCloud network-config starts at "version:"; netplan wants it under "network:".
  const indented = content.replace(/^(?=.)/gm, "  ");
  writeFileSync(path, `network:\n${indented}`);
  chmodSync(path, 0o600);
  const result = runTool(["netplan", "generate", "--root-dir", root]);
  const networkDir = join(root, "run/systemd/network");
  const networks = existsSync(networkDir)
    ? Object.fromEntries(readdirSync(networkDir).map((f) => [f, readFileSync(join(networkDir, f), "utf8")]))
    : {};
  return { result, networks };
}


function networkConfig(inv: Inventory, host: Host): { version: number; ethernets: Record<string, Ethernet> } {
  return parse(networkConfigText(inv, host));
}

describe("network-config", () => {
  for (const { label, inv } of INVENTORIES) {
    for (const host of inv.hosts) {
      test(`${label}/${host.name} passes netplan generate`, () => {
        const { result, networks } = netplanGenerate(`${label}-${host.name}`, networkConfigText(inv, host));
        expect(result.stderr).toBe("");
        expect(result.code).toBe(0);
        const cluster = networks[`10-netplan-${inv.spec.network.interface}.network`];
        expect(cluster).toContain(`Address=${host.ip}/${inv.prefixLength}`);
        expect(cluster).toContain(`Gateway=${inv.spec.network.gateway}`);
      });
    }
  }

  test("netplan generate rejects a broken render", () => {
    const inv = INVENTORIES[0]!.inv;
    const broken = networkConfigText(inv, hostNamed(inv, "lb01")).replace("198.18.20.21/24", "198.18.20.21");
    const { result } = netplanGenerate("broken", broken);
    expect(result.code).not.toBe(0);
  });

  test("static cluster NIC: address with prefix, 0.0.0.0/0 route via the gateway, DNS and search, MTU", () => {
    const inv = INVENTORIES[0]!.inv;
    const config = networkConfig(inv, hostNamed(inv, "server03"));
    expect(config.version).toBe(2);
    expect(config.ethernets.ens18).toEqual({
      dhcp4: false,
      addresses: ["198.18.20.33/24"],
      routes: [{ to: "0.0.0.0/0", via: "198.18.20.1" }],
      nameservers: { addresses: ["198.18.20.1", "198.18.20.2"], search: ["lan", "example.internal"] },
      mtu: 1500,
    });
    expect(networkConfigText(inv, hostNamed(inv, "server03"))).not.toContain("default");
  });

  test("a DHCP extra NIC gets dhcp4 and its MTU; an unconfigured one is left out", () => {
    const realistic = INVENTORIES[0]!.inv;
    expect(networkConfig(realistic, hostNamed(realistic, "agent01")).ethernets.ens19).toEqual({ dhcp4: true, mtu: 9000 });
    expect(Object.keys(networkConfig(realistic, hostNamed(realistic, "server01")).ethernets)).toEqual(["ens18"]);
    const unicast = INVENTORIES[1]!.inv;
    expect(unicast.loadBalancers[2]?.nics.map((n) => n.interface)).toEqual(["ens18", "ens20"]);
    expect(Object.keys(networkConfig(unicast, hostNamed(unicast, "lb03")).ethernets)).toEqual(["ens18"]);
  });

  test("without DNS or search domains there is no nameservers block and no MTU", () => {
    const inv = INVENTORIES[2]!.inv;
    const ethernet = networkConfig(inv, hostNamed(inv, "server01")).ethernets.eth0;
    expect(ethernet).toEqual({
      dhcp4: false,
      addresses: ["198.18.30.3/28"],
      routes: [{ to: "0.0.0.0/0", via: "198.18.30.1" }],
    });
  });
});

describe("network-config through cloud-init's own NetworkManager renderer (what MicroOS uses)", () => {
  for (const { label, inv } of INVENTORIES) {
    test(`${label}: every host converts to NetworkManager keyfiles with its static address`, () => {
      for (const host of inv.hosts) {
        const dir = join(scratch, `nm-${label}-${host.name}`);
        mkdirSync(dir, { recursive: true });
        const input = join(dir, "network-config.yaml");
        writeFileSync(input, networkConfigText(inv, host));
        const out = join(dir, "out");
        const result = runTool(["/usr/bin/cloud-init", "devel", "net-convert", "-p", input, "-k", "yaml", "-D", "opensuse", "-O", "network-manager", "-d", out]);
        expect(result.code).toBe(0);
        const keyfile = readFileSync(join(out, `etc/NetworkManager/system-connections/cloud-init-${inv.spec.network.interface}.nmconnection`), "utf8");
        expect(keyfile).toContain("method=manual");
        expect(keyfile).toContain(`address1=${host.ip}/${inv.prefixLength}`);
        expect(keyfile).toContain(`route1=0.0.0.0/0,${inv.spec.network.gateway}`);
      }
    });
  }
});
