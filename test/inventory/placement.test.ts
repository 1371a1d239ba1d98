import { describe, expect, test } from "bun:test";
import { buildInventory } from "../../src/inventory/build.ts";
import { placeHosts } from "../../src/inventory/placement.ts";
import { countGroup, specWithNodes } from "./fixture.ts";

const NODES = ["node01", "node02", "node03"];

describe("placeHosts", () => {
  test("the concept document's table: 3 PVE nodes, 6 servers, 3 agents, 2 LBs", () => {
    const inventory = buildInventory(specWithNodes({
      loadBalancers: countGroup(200, 2, "10.0.20.21"),
      servers: countGroup(210, 6, "10.0.20.31"),
      agents: countGroup(220, 3, "10.0.20.41"),
    }));
    const workload = new Map<string, string[]>();
    // The table lists servers, then agents, then load balancers on each node.
    for (const host of [...inventory.servers, ...inventory.agents, ...inventory.loadBalancers]) {
      workload.set(host.pveNode, [...(workload.get(host.pveNode) ?? []), host.name]);
    }
    expect(Object.fromEntries(workload)).toEqual({
      node01: ["server01", "server04", "agent01", "lb01"],
      node02: ["server02", "server05", "agent02", "lb02"],
      node03: ["server03", "server06", "agent03"],
    });
  });

  test("round robin follows the declared node order, not the alphabet", () => {
    const hosts = [{ name: "a" }, { name: "b" }, { name: "c" }, { name: "d" }];
    expect(placeHosts(hosts, ["pve-c", "pve-a", "pve-b"])).toEqual(["pve-c", "pve-a", "pve-b", "pve-c"]);
  });

  test("a pinned host keeps its node and shifts no other host", () => {
    const unpinned = [{ name: "s1" }, { name: "s2" }, { name: "s3" }, { name: "s4" }, { name: "s5" }];
    const pinned = unpinned.map((h) => (h.name === "s2" ? { ...h, pveNode: "node03" } : h));
    const before = placeHosts(unpinned, NODES);
    const after = placeHosts(pinned, NODES);
    expect(before).toEqual(["node01", "node02", "node03", "node01", "node02"]);
    expect(after).toEqual(["node01", "node03", "node03", "node01", "node02"]);
  });

  test("a host may be pinned to a node outside proxmox.nodes' rotation (validation judges that)", () => {
    expect(placeHosts([{ name: "x", pveNode: "elsewhere" }, { name: "y" }], ["node01"])).toEqual(["elsewhere", "node01"]);
  });

  test("with one PVE node everything lands there", () => {
    expect(placeHosts([{ name: "a" }, { name: "b" }, { name: "c" }], ["solo"])).toEqual(["solo", "solo", "solo"]);
  });

  test("an unpinned host with no PVE node to go to is refused, naming the host", () => {
    expect(placeHosts([{ name: "pinned", pveNode: "node01" }], [])).toEqual(["node01"]);
    expect(() => placeHosts([{ name: "lonely" }], [])).toThrow(/lonely/);
  });
});
