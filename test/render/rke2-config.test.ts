import { describe, expect, test } from "bun:test";
import { parse } from "yaml";
import type { Host, Inventory } from "../../src/inventory/types.ts";
import { renderHost, type RenderedFile } from "../../src/render/index.ts";
import { hostNamed, INVENTORIES, SECRETS } from "./fixtures.ts";

const CONFIG_PATH = "/etc/rancher/rke2/config.yaml";
const SERVER_ONLY_KEYS = ["tls-san", "cni", "write-kubeconfig-mode", "disable", "cluster-init", "token"];

function configFile(inv: Inventory, host: Host): RenderedFile {
  const file = renderHost(inv, host, SECRETS).find((f) => f.path === CONFIG_PATH);
  if (file === undefined) throw new Error(`${host.name} has no RKE2 config`);
  return file;
}

/** Parsed the way RKE2 reads it: go-yaml follows YAML 1.1 (0600 unquoted would be the number 384). */
function config(inv: Inventory, host: Host): Record<string, unknown> {
  return parse(configFile(inv, host).content, { version: "1.1" }) as Record<string, unknown>;
}

describe("/etc/rancher/rke2/config.yaml", () => {
  test("every RKE2 node has one, mode 0600, on the node; load balancers have none", () => {
    for (const { inv } of INVENTORIES) {
      for (const host of [...inv.servers, ...inv.agents]) {
        const file = configFile(inv, host);
        expect(file.mode).toBe(0o600);
        expect(file.scope).toBe("node");
      }
      for (const lb of inv.loadBalancers) {
        expect(renderHost(inv, lb, SECRETS).some((f) => f.path === CONFIG_PATH)).toBe(false);
      }
    }
  });

  test("the first server starts the cluster: no server URL and no token", () => {
    const inv = INVENTORIES[0]!.inv;
    expect(config(inv, hostNamed(inv, "server01"))).toEqual({
      "node-name": "server01",
      "node-ip": "198.18.20.31",
      "tls-san": ["198.18.20.10", "lb01", "lb01.lan", "lb02", "lb02.lan", "k8s.example.internal"],
      cni: "canal",
      selinux: true,
      "write-kubeconfig-mode": "0600",
    });
  });

  test("other servers join through the VIP with the token file, and share the server settings", () => {
    const inv = INVENTORIES[0]!.inv;
    const first = config(inv, hostNamed(inv, "server01"));
    for (const name of ["server02", "server03"]) {
      const other = config(inv, hostNamed(inv, name));
      expect(other.server).toBe("https://198.18.20.10:9345");
      expect(other["token-file"]).toBe("/etc/rancher/rke2/join-token");
      expect(other["node-name"]).toBe(name);
      expect(other["node-ip"]).toBe(hostNamed(inv, name).ip);
      for (const key of ["tls-san", "cni", "selinux", "write-kubeconfig-mode"]) expect(other[key]).toEqual(first[key]);
    }
  });

  test("agents get only server, token-file, node-name, node-ip and selinux", () => {
    for (const { inv } of INVENTORIES) {
      for (const agent of inv.agents) {
        const parsed = config(inv, agent);
        expect(Object.keys(parsed).sort()).toEqual(["node-ip", "node-name", "selinux", "server", "token-file"]);
        for (const key of SERVER_ONLY_KEYS) expect(parsed[key]).toBeUndefined();
        expect(parsed.server).toBe(`https://${inv.spec.loadBalancer.vip}:9345`);
      }
    }
  });

  test("no config holds a secret: the token lives only in the token file", () => {
    for (const { inv } of INVENTORIES) {
      for (const host of [...inv.servers, ...inv.agents]) {
        const content = configFile(inv, host).content;
        expect(content).not.toMatch(/^token:/m);
        expect(content).not.toContain(SECRETS.hostKeySecret);
      }
    }
  });

  test("tls-san has no duplicates when names have no domain; CNI and SELinux follow the spec", () => {
    const inv = INVENTORIES[2]!.inv; // minimal: no search domain, so fqdn = name
    const parsed = config(inv, hostNamed(inv, "server01"));
    expect(parsed["tls-san"]).toEqual(["198.18.30.10", "lb01"]);
    expect(parsed.cni).toBe("calico");
    expect(parsed.selinux).toBe(false);
    expect(parsed.server).toBeUndefined();
  });

  test("write-kubeconfig-mode stays the string 0600 for a YAML 1.1 reader", () => {
    const inv = INVENTORIES[0]!.inv;
    expect(configFile(inv, hostNamed(inv, "server02")).content).toContain('write-kubeconfig-mode: "0600"');
  });
});
