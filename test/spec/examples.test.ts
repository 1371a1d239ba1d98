import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadSpecFile } from "../../src/spec/load.ts";
import { loadCluster } from "../../src/plan/load.ts";

const EXAMPLES = join(import.meta.dir, "..", "..", "examples");
const names = ["cluster.yaml", "minimal.yaml", "unicast.yaml"];

describe("examples", () => {
  for (const name of names) {
    const path = join(EXAMPLES, name);

    test(`${name} validates without errors`, async () => {
      const { diagnostics } = await loadCluster(path, process.env);
      expect(diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    });

    test(`${name} starts with a modeline that finds spec-schema.json`, () => {
      const first = readFileSync(path, "utf8").split("\n")[0] ?? "";
      const match = /^# yaml-language-server: \$schema=(\S+)$/.exec(first);
      expect(match).not.toBeNull();
      expect(resolve(EXAMPLES, match?.[1] ?? "")).toBe(resolve(import.meta.dir, "..", "..", "spec-schema.json"));
    });
  }

  test("cluster.yaml is the concept document's topology", async () => {
    const { spec } = await loadSpecFile(join(EXAMPLES, "cluster.yaml"));
    expect(spec?.proxmox.nodes).toEqual(["node01", "node02", "node03"]);
    expect(spec?.nodes.loadBalancers.hosts?.map((h) => h.name)).toEqual(["lb01", "lb02"]);
    expect(spec?.nodes.servers.hosts?.map((h) => h.name)).toEqual(["server01", "server02", "server03", "server04", "server05", "server06"]);
    expect(spec?.nodes.agents).toMatchObject({ count: 3, ipStart: "10.0.20.41" });
    expect(spec?.updates).toMatchObject({ rebootSlots: [17, 18], minuteOffsets: [0, 15, 30, 45], windowDuration: "1h" });
    expect(spec?.loadBalancer.vrrp.mode).toBe("multicast");
    expect(spec?.proxmox.tls.fingerprint).toBeDefined();
    expect(spec?.proxmox.tokenSecret).toEqual({ env: "PVE_TOKEN_SECRET" });
    expect(spec?.ssh.hostKeySecret).toEqual({ env: "STARBASE_HOSTKEY_SECRET" });
  });

  test("cluster.yaml's only findings are the concept's two documented warnings", async () => {
    const { diagnostics } = await loadCluster(join(EXAMPLES, "cluster.yaml"), process.env);
    expect(diagnostics.map((d) => `${d.severity}: ${d.message}`)).toEqual([
      "warning: nodes.servers: 6 servers survive no more failures than 5 would (etcd needs a majority)",
      "warning: load balancers lb01 (17:00–18:00) and lb02 (17:15–18:15) have overlapping reboot windows",
    ]);
  });

  test("minimal.yaml has no agents and unicast.yaml uses unicast VRRP", async () => {
    const minimal = await loadSpecFile(join(EXAMPLES, "minimal.yaml"));
    expect(minimal.spec?.nodes.agents).toBeUndefined();
    const unicast = await loadSpecFile(join(EXAMPLES, "unicast.yaml"));
    expect(unicast.spec?.loadBalancer.vrrp.mode).toBe("unicast");
    expect(unicast.spec?.nodes.loadBalancers.hosts).toHaveLength(2);
    expect(unicast.spec?.nodes.servers.count).toBe(3);
    expect(unicast.spec?.nodes.agents?.hosts).toHaveLength(2);
  });
});
