import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatDiagnostic } from "../../src/spec/diagnostics.ts";
import { loadSpecFile, loadSpecText } from "../../src/spec/load.ts";

const BASE = `name: lab
proxmox:
  endpoint: https://pve1.lan:8006
  tokenId: root@pam!starbase
  tokenSecret: { env: PVE_TOKEN_SECRET }
  tls: { ca: ./ca.pem }
  nodes: [node01, node02]
ssh:
  authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKLtXREF5t41+F54/6SG4y7EyW3dhpCdzdVLhQfUgIol ops@laptop"]
  hostKeySecret: { file: hostkey.secret }
network:
  bridge: vmbr0
  cidr: 10.0.20.0/24
  gateway: 10.0.20.1
  dns: [10.0.20.1]
nodes:
  loadBalancers:
    hosts: [{ name: lb01, ip: 10.0.20.21 }]
  servers:
    hosts:
      - name: server01
        ip: 10.0.20.31
loadBalancer:
  vip: 10.0.20.10
`;

describe("defaults", () => {
  const { spec, diagnostics } = loadSpecText(BASE, "cluster.yaml");

  test("a valid spec loads without diagnostics into a complete Spec", () => {
    expect(diagnostics).toEqual([]);
    expect(spec).toBeDefined();
  });

  test("per-type VM defaults: LB 200, servers 210", () => {
    expect(spec?.nodes.loadBalancers.vm).toEqual({ cores: 1, memory: 1024, disk: 20, vmidStart: 200, cpu: "x86-64-v2-AES" });
    expect(spec?.nodes.servers.vm).toEqual({ cores: 4, memory: 8192, disk: 50, vmidStart: 210, cpu: "x86-64-v2-AES" });
    expect(spec?.nodes.loadBalancers.namePrefix).toBe("lb");
    expect(spec?.nodes.servers.namePrefix).toBe("server");
    expect(spec?.nodes.agents).toBeUndefined();
  });

  test("sections left out get their documented defaults", () => {
    expect(spec?.proxmox.storage).toEqual({ image: "local", disk: "local-lvm", cloudInit: "local" });
    expect(spec?.proxmox.vmCreatePerNode).toBe(1);
    expect(spec?.ssh.user).toBe("root");
    expect(spec?.network.interface).toBe("ens18");
    expect(spec?.network.model).toBe("virtio");
    expect(spec?.network.searchDomains).toEqual([]);
    expect(spec?.extraNetworks).toEqual([]);
    expect(spec?.packages).toEqual([]);
    expect(spec?.loadBalancer.vrrp).toEqual({ mode: "multicast", routerId: 51 });
    expect(spec?.updates).toEqual({ rebootSlots: [17, 18, 19, 20, 21, 22], minuteOffsets: [0, 15, 30, 45], windowDuration: "1h", strategy: "best-effort" });
    expect(spec?.kured).toEqual({ enabled: true, startTime: "18:00", endTime: "23:00", timeZone: "UTC", chartVersion: "5.6.1" });
    expect(spec?.rke2).toEqual({ channel: "stable", channelUrl: "https://update.rke2.io/v1-release/channels", cni: "canal", selinux: true, tlsSan: [] });
    expect(spec?.image.url).toEndWith("openSUSE-MicroOS.x86_64-OpenStack-Cloud.qcow2");
    expect(spec?.image.checksumUrl).toEndWith("openSUSE-MicroOS.x86_64-OpenStack-Cloud.qcow2.sha256");
  });

  test("a written image is kept as written: no default checksumUrl for another image", () => {
    const loaded = loadSpecText(`${BASE}image: { url: https://images.example/os.qcow2, checksum: ${"a".repeat(64)} }\n`, "c.yaml");
    expect(loaded.spec?.image).toEqual({ url: "https://images.example/os.qcow2", checksum: "a".repeat(64) });
  });

  test("a pinned RKE2 version gets no channel", () => {
    const loaded = loadSpecText(`${BASE}rke2: { version: v1.33.4+rke2r1 }\n`, "c.yaml");
    expect(loaded.spec?.rke2.version).toBe("v1.33.4+rke2r1");
    expect(loaded.spec?.rke2.channel).toBeUndefined();
  });

  test("defaults fill in around what is written, inside groups too", () => {
    const text = BASE.replace("  servers:\n", "  servers:\n    vm: { cores: 8 }\n    extraNetworks: [{ interface: ens19, bridge: vmbr1 }]\n");
    const loaded = loadSpecText(text, "c.yaml");
    expect(loaded.spec?.nodes.servers.vm).toEqual({ cores: 8, memory: 8192, disk: 50, vmidStart: 210, cpu: "x86-64-v2-AES" });
    expect(loaded.spec?.nodes.servers.extraNetworks).toEqual([{ interface: "ens19", bridge: "vmbr1", model: "virtio", dhcp: false }]);
  });

  test("YAML merge keys work", () => {
    const text = `${BASE.replace("  servers:\n", "  servers:\n    vm: { <<: *small, disk: 30 }\n").replace("  loadBalancers:\n", "  loadBalancers:\n    vm: &small { cores: 2, memory: 2048 }\n")}`;
    const loaded = loadSpecText(text, "c.yaml");
    expect(loaded.diagnostics).toEqual([]);
    expect(loaded.spec?.nodes.servers.vm).toMatchObject({ cores: 2, memory: 2048, disk: 30 });
  });
});

describe("positions", () => {
  const loaded = loadSpecText(BASE, "cluster.yaml");

  test("a scalar is shown at its value, a mapping or list at its key", () => {
    expect(loaded.positionOf(["network", "cidr"])).toEqual({ line: 13, col: 9 });
    expect(loaded.positionOf(["network"])).toEqual({ line: 11, col: 1 });
    expect(loaded.positionOf(["proxmox", "nodes"])).toEqual({ line: 7, col: 3 });
  });

  test("key: true and key: false override that choice", () => {
    expect(loaded.positionOf(["network", "cidr"], true)).toEqual({ line: 13, col: 3 });
    expect(loaded.positionOf(["proxmox", "nodes"], false)).toEqual({ line: 7, col: 10 });
  });

  test("list items in flow and block style", () => {
    expect(loaded.positionOf(["proxmox", "nodes", 1])).toEqual({ line: 7, col: 19 });
    expect(loaded.positionOf(["nodes", "loadBalancers", "hosts", 0, "ip"])).toEqual({ line: 18, col: 31 });
    expect(loaded.positionOf(["nodes", "servers", "hosts", 0])).toEqual({ line: 21, col: 9 });
    expect(loaded.positionOf(["nodes", "servers", "hosts", 0, "ip"])).toEqual({ line: 22, col: 13 });
  });

  test("a missing path falls back to the nearest existing ancestor's key", () => {
    expect(loaded.positionOf(["nodes", "agents", "count"])).toEqual({ line: 16, col: 1 });
    expect(loaded.positionOf(["network", "vlan"])).toEqual({ line: 11, col: 1 });
    expect(loaded.positionOf(["nodes", "servers", "hosts", 5, "name"])).toEqual({ line: 20, col: 5 });
    expect(loaded.positionOf(["kured"])).toEqual({ line: 1, col: 1 });
  });

  test("the root is where the content starts, after leading comments", () => {
    const commented = loadSpecText(`# a comment\n\n${BASE}`, "c.yaml");
    expect(commented.positionOf([])).toEqual({ line: 3, col: 1 });
  });

  test("CRLF line endings give the same lines and columns", () => {
    const crlf = loadSpecText(BASE.replace(/\n/g, "\r\n"), "c.yaml");
    expect(crlf.diagnostics).toEqual([]);
    expect(crlf.positionOf(["network", "cidr"])).toEqual({ line: 13, col: 9 });
    const broken = loadSpecText(BASE.replace("gateway: 10.0.20.1", "gateway: 10.0.20.999").replace(/\n/g, "\r\n"), "c.yaml");
    expect(broken.diagnostics.map((d) => [d.line, d.col])).toEqual([[14, 12]]);
  });
});

describe("malformed input", () => {
  test("a YAML error has the exact line and column, and no spec", () => {
    const loaded = loadSpecText(BASE.replace("  bridge: vmbr0", "  bridge: vmbr0\n  bridge: vmbr1"), "c.yaml");
    expect(loaded.spec).toBeUndefined();
    expect(loaded.diagnostics).toEqual([
      { severity: "error", file: "c.yaml", line: 13, col: 3, message: 'duplicate key "bridge"', hint: "a key may appear only once in a mapping; remove or merge one of them" },
    ]);
  });

  test("schema errors leave spec undefined but still report every problem", () => {
    const loaded = loadSpecText(BASE.replace("cidr: 10.0.20.0/24", "cidr: 24").replace("dns: [10.0.20.1]", "dns: 10.0.20.1"), "c.yaml");
    expect(loaded.spec).toBeUndefined();
    expect(loaded.diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`)).toEqual([
      "13:9 network.cidr: must be a string, got 24",
      "15:8 network.dns: must be a non-empty list of IPv4 addresses, got \"10.0.20.1\"",
    ]);
  });

  test("problems found on the YAML tree are positioned too", () => {
    const brief = (text: string) => loadSpecText(text, "c.yaml").diagnostics.map((d) => `${d.line}:${d.col} ${d.message}`);
    expect(brief("name: lab\nproxmox: *pve\n")).toEqual(["2:10 unknown anchor *pve"]);
    expect(brief("name: lab\n? [a, b]\n: 1\n")).toEqual(["2:3 a key must be a plain name, not a list or mapping"]);
    expect(brief("name: lab\nkured: { enabled: true\nrke2: {}\n")).toEqual(["2:8 unclosed {"]);
    expect(brief("---\n")).toEqual(["1:1 the file is empty"]);
  });

  test("an alias bomb is refused, not expanded", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 8; i++) bomb.push(`${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(", ")}]`);
    const loaded = loadSpecText(`${bomb.join("\n")}\n`, "bomb.yaml");
    expect(loaded.spec).toBeUndefined();
    expect(loaded.diagnostics).toHaveLength(1);
    expect(loaded.diagnostics[0]?.message).toStartWith("cannot read the document:");
  });

  test("secrets that are wrong are never echoed back", () => {
    const number = loadSpecText(BASE.replace("tokenSecret: { env: PVE_TOKEN_SECRET }", "tokenSecret: 987654321"), "c.yaml");
    const list = loadSpecText(BASE.replace("tokenSecret: { env: PVE_TOKEN_SECRET }", "tokenSecret: [s3cr3t-value]"), "c.yaml");
    const text = [...number.diagnostics, ...list.diagnostics].map(formatDiagnostic).join("\n");
    expect(number.diagnostics).toHaveLength(1);
    expect(list.diagnostics).toHaveLength(1);
    expect(text).not.toContain("987654321");
    expect(text).not.toContain("s3cr3t");
  });
});

describe("loadSpecFile", () => {
  test("reads the file, names it in diagnostics and anchors dir at its directory", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sbspec-load-"));
    try {
      const path = join(dir, "cluster.yaml");
      writeFileSync(path, BASE.replace("vip: 10.0.20.10", "vip: nowhere"));
      const loaded = await loadSpecFile(path);
      expect(loaded.dir).toBe(dir);
      expect(loaded.diagnostics.map((d) => [d.file, d.line])).toEqual([[path, 24]]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a missing file is a diagnostic, not an exception", async () => {
    const loaded = await loadSpecFile("/nonexistent/sbspec/cluster.yaml");
    expect(loaded.spec).toBeUndefined();
    expect(loaded.diagnostics).toEqual([
      { severity: "error", file: "/nonexistent/sbspec/cluster.yaml", line: 1, col: 1, message: "/nonexistent/sbspec/cluster.yaml does not exist" },
    ]);
  });
});
