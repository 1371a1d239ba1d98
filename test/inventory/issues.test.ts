import { describe, expect, test } from "bun:test";
import { inventoryIssues } from "../../src/inventory/issues.ts";
import type { HostEntry, NodeGroup, Spec, SpecIssue } from "../../src/spec/types.ts";
import { countGroup, listedGroup, specFixture, specWithNodes, vm } from "./fixture.ts";

// Reboot windows that keep the two fixture load balancers apart, so only the issue under test shows.
const quiet = (overrides: Partial<Spec> = {}): Partial<Spec> => ({
  updates: { rebootSlots: [17, 18], minuteOffsets: [0], windowDuration: "1h", strategy: "best-effort" },
  ...overrides,
});
const errors = (issues: SpecIssue[]) => issues.filter((i) => i.severity === "error");

const servers = (hosts: HostEntry[], extra: Partial<NodeGroup> = {}) => listedGroup(210, hosts, extra);

describe("inventoryIssues: a sound spec", () => {
  test("no issue when the load balancers' windows are apart", () => {
    expect(inventoryIssues(specFixture(quiet()))).toEqual([]);
  });
});

describe("inventoryIssues: addresses", () => {
  test("an explicit ip outside network.cidr points at that ip", () => {
    const spec = specWithNodes({ servers: servers([{ name: "server01", ip: "10.0.20.31" }, { name: "server02", ip: "10.0.21.32" }]) }, quiet());
    expect(inventoryIssues(spec)).toEqual([{
      severity: "error",
      path: ["nodes", "servers", "hosts", 1, "ip"],
      message: "server02 has ip 10.0.21.32, outside network.cidr 10.0.20.0/24",
    }]);
  });

  test("the gateway, the VIP, the network and the broadcast address are taken", () => {
    const spec = specWithNodes({
      servers: servers([
        { name: "gw", ip: "10.0.20.1" },
        { name: "vip", ip: "10.0.20.10" },
        { name: "net", ip: "10.0.20.0" },
        { name: "bcast", ip: "10.0.20.255" },
      ]),
    }, quiet());
    expect(inventoryIssues(spec).map((i) => [i.path, i.message])).toEqual([
      [["nodes", "servers", "hosts", 0, "ip"], "gw has ip 10.0.20.1, the gateway (network.gateway)"],
      [["nodes", "servers", "hosts", 1, "ip"], "vip has ip 10.0.20.10, the load balancer VIP (loadBalancer.vip)"],
      [["nodes", "servers", "hosts", 2, "ip"], "net has ip 10.0.20.0, the network address of 10.0.20.0/24"],
      [["nodes", "servers", "hosts", 3, "ip"], "bcast has ip 10.0.20.255, the broadcast address of 10.0.20.0/24"],
    ]);
  });

  test("in a /31 both addresses are usable", () => {
    const spec = specWithNodes({
      loadBalancers: listedGroup(200, [{ name: "lb01", ip: "10.0.20.6" }]),
      servers: servers([{ name: "server01", ip: "10.0.20.7" }]),
      agents: undefined,
    }, quiet({ network: { ...specFixture().network, cidr: "10.0.20.6/31", gateway: "10.0.20.6" } }));
    expect(inventoryIssues(spec).map((i) => i.message)).toEqual(["lb01 has ip 10.0.20.6, the gateway (network.gateway)"]);
  });

  test("addresses are unique across all types; the later host is blamed and both are named", () => {
    const spec = specWithNodes({ agents: countGroup(220, 3, "10.0.20.33") }, quiet());
    expect(inventoryIssues(spec)).toEqual([{
      severity: "error",
      path: ["nodes", "agents", "ipStart"],
      message: "agent01 would get 10.0.20.33 (ipStart + 0), already used by server03",
    }]);
  });

  test("two explicit duplicates name both hosts", () => {
    const spec = specWithNodes({ servers: servers([{ name: "server01", ip: "10.0.20.21" }]) }, quiet());
    expect(inventoryIssues(spec)).toEqual([{
      severity: "error",
      path: ["nodes", "servers", "hosts", 0, "ip"],
      message: "server01 has ip 10.0.20.21, already used by lb01",
    }]);
  });

  test("a derived range running past the CIDR blames count; hitting the broadcast address blames ipStart", () => {
    const spec = specWithNodes({ agents: countGroup(220, 5, "10.0.20.253") }, quiet());
    expect(inventoryIssues(spec)).toEqual([
      {
        severity: "error",
        path: ["nodes", "agents", "ipStart"],
        message: "agent03 would get 10.0.20.255 (ipStart + 2), the broadcast address of 10.0.20.0/24",
      },
      {
        severity: "error",
        path: ["nodes", "agents", "count"],
        message: "agent04 would get 10.0.21.0 (ipStart + 3), outside network.cidr 10.0.20.0/24; " +
          "agent05 would get 10.0.21.1 (ipStart + 4), outside network.cidr 10.0.20.0/24",
      },
    ]);
  });

  test("an ipStart outside the CIDR is blamed once, listing the first hosts", () => {
    const spec = specWithNodes({ agents: countGroup(220, 5, "192.168.1.10") }, quiet());
    const issues = inventoryIssues(spec);
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toEqual(["nodes", "agents", "ipStart"]);
    expect(issues[0]?.message).toBe(
      "agent01 would get 192.168.1.10 (ipStart + 0), outside network.cidr 10.0.20.0/24; " +
      "agent02 would get 192.168.1.11 (ipStart + 1), outside network.cidr 10.0.20.0/24; " +
      "agent03 would get 192.168.1.12 (ipStart + 2), outside network.cidr 10.0.20.0/24; and 2 more",
    );
  });

  test("in a listed group, derived addresses past the CIDR blame ipStart", () => {
    const spec = specWithNodes({ servers: servers([{ name: "a" }, { name: "b" }], { ipStart: "10.0.20.254" }) }, quiet());
    expect(inventoryIssues(spec).map((i) => [i.path, i.message])).toEqual([
      [["nodes", "servers", "ipStart"], "b would get 10.0.20.255 (ipStart + 1), the broadcast address of 10.0.20.0/24"],
    ]);
  });

  test("a range past 255.255.255.255 is reported, not thrown", () => {
    const spec = specWithNodes({ agents: countGroup(220, 3, "255.255.255.254") },
      quiet({ network: { ...specFixture().network, cidr: "0.0.0.0/0" } }));
    expect(inventoryIssues(spec).map((i) => [i.path, i.message])).toEqual([
      [["nodes", "agents", "ipStart"], "agent02 would get 255.255.255.255 (ipStart + 1), the broadcast address of 0.0.0.0/0"],
      [["nodes", "agents", "count"], "agent03 would get an address past 255.255.255.255 (ipStart + 2)"],
    ]);
  });

  test("nothing to derive an address from", () => {
    const spec = specWithNodes({
      servers: servers([{ name: "server01", ip: "10.0.20.31" }, { name: "server02" }]),
      agents: { vm: vm(220), count: 2 },
    }, quiet());
    expect(inventoryIssues(spec).map((i) => [i.path, i.message])).toEqual([
      [["nodes", "agents"], "nodes.agents sets count but no ipStart, so its hosts get no address"],
      [["nodes", "servers", "hosts", 1], "server02 has no ip, and nodes.servers has no ipStart to derive one from"],
    ]);
  });

  test("text that is no address is reported where it stands", () => {
    const spec = specWithNodes({
      servers: servers([{ name: "server01", ip: "10.0.20.300" }]),
      agents: countGroup(220, 2, "ten.zero"),
    }, quiet());
    expect(inventoryIssues(spec).map((i) => [i.path, i.message])).toEqual([
      [["nodes", "agents", "ipStart"], 'ipStart "ten.zero" is not an IPv4 address'],
      [["nodes", "servers", "hosts", 0, "ip"], 'server01 has ip "10.0.20.300", which is not an IPv4 address'],
    ]);
  });

  test("a broken CIDR, gateway or VIP does not make it throw (spec validation reports those)", () => {
    const network = { ...specFixture().network, cidr: "10.0.20.5/24", gateway: "nope" };
    const spec = specFixture(quiet({ network, loadBalancer: { vip: "", vrrp: { mode: "unicast", routerId: 1 } } }));
    expect(inventoryIssues(spec)).toEqual([]);
  });
});

describe("inventoryIssues: VMIDs", () => {
  test("derived ranges that run into the next type: one issue at vmidStart naming every pair", () => {
    const spec = specWithNodes({
      servers: countGroup(210, 12, "10.0.20.101"),
      agents: countGroup(220, 3, "10.0.20.201"),
    }, quiet());
    expect(inventoryIssues(spec)).toEqual([{
      severity: "error",
      path: ["nodes", "agents", "vm", "vmidStart"],
      message: "agent01 would get VMID 220 (vmidStart + 0), already used by server11; " +
        "agent02 would get VMID 221 (vmidStart + 1), already used by server12",
      hint: "leave room between the vmidStart of the types, or give the host its own vmid",
    }]);
  });

  test("an explicit vmid that collides points at that vmid", () => {
    const spec = specWithNodes({ servers: servers([{ name: "server01", ip: "10.0.20.31", vmid: 201 }]) }, quiet());
    const issues = inventoryIssues(spec);
    expect(issues.map((i) => [i.path, i.message])).toEqual([
      [["nodes", "servers", "hosts", 0, "vmid"], "server01 has vmid 201, already used by lb02"],
    ]);
  });

  test("VMIDs outside 100..999999999", () => {
    const spec = specWithNodes({
      loadBalancers: { ...listedGroup(200, [{ name: "lb01", ip: "10.0.20.21" }]), vm: { ...specFixture().nodes.loadBalancers.vm, vmidStart: 99 } },
      servers: servers([{ name: "server01", ip: "10.0.20.31", vmid: 1_000_000_000 }]),
    }, quiet());
    expect(inventoryIssues(spec).map((i) => [i.path, i.message])).toEqual([
      [["nodes", "loadBalancers", "vm", "vmidStart"], "lb01 would get VMID 99 (vmidStart + 0), outside the Proxmox VMID range 100..999999999"],
      [["nodes", "servers", "hosts", 0, "vmid"], "server01 has vmid 1000000000, outside the Proxmox VMID range 100..999999999"],
    ]);
  });
});

describe("inventoryIssues: generated names", () => {
  test("a generated name that clashes with a listed one", () => {
    const spec = specWithNodes({ servers: servers([{ name: "agent02", ip: "10.0.20.31" }]) }, quiet());
    expect(inventoryIssues(spec).map((i) => [i.path, i.message])).toEqual([
      [["nodes", "agents", "count"], "agent02 in nodes.agents has the same name as agent02 in nodes.servers"],
    ]);
  });

  test("two count groups with the same namePrefix blame the later namePrefix", () => {
    const spec = specWithNodes({
      servers: countGroup(210, 2, "10.0.20.31", { namePrefix: "node" }),
      agents: countGroup(220, 1, "10.0.20.41", { namePrefix: "node" }),
    }, quiet());
    expect(inventoryIssues(spec).map((i) => [i.path, i.message])).toEqual([
      [["nodes", "agents", "namePrefix"], "node01 in nodes.agents has the same name as node01 in nodes.servers"],
    ]);
  });

  test("two written names that clash are left to spec validation", () => {
    const spec = specWithNodes({ servers: servers([{ name: "lb01", ip: "10.0.20.31" }]) }, quiet());
    expect(inventoryIssues(spec)).toEqual([]);
  });
});

describe("inventoryIssues: load balancer reboot windows", () => {
  const withUpdates = (rebootSlots: number[], minuteOffsets: number[], windowDuration: string, nodes = {}) =>
    inventoryIssues(specWithNodes(nodes, { updates: { rebootSlots, minuteOffsets, windowDuration, strategy: "best-effort" } }));

  test("the design example's windows overlap (17:00–18:00 and 17:15–18:15): a warning naming both", () => {
    expect(withUpdates([17, 18], [0, 15, 30, 45], "1h")).toEqual([{
      severity: "warning",
      path: ["updates"],
      message: "load balancers lb01 (17:00–18:00) and lb02 (17:15–18:15) have overlapping reboot windows",
      hint: expect.stringContaining("drop the VIP") as unknown as string,
    }]);
  });

  test("windows that only touch give no warning", () => {
    expect(withUpdates([17, 18], [0, 15, 30, 45], "15m")).toEqual([]);
    expect(withUpdates([17, 18], [0], "1h")).toEqual([]);
  });

  test("servers and agents sharing windows is fine (kured reboots them one at a time)", () => {
    expect(withUpdates([17, 18], [0], "1h", { servers: countGroup(210, 5, "10.0.20.31") })).toEqual([]);
  });

  test("overlap across midnight: slot 23 with 90 minutes runs into slot 0", () => {
    const issues = withUpdates([23, 0], [0], "90m");
    expect(issues.map((i) => i.message)).toEqual([
      "load balancers lb01 (23:00–00:30) and lb02 (00:00–01:30) have overlapping reboot windows",
    ]);
    expect(withUpdates([23, 1], [0], "90m")).toEqual([]);
  });

  test("more load balancers than windows: the ones sharing a window are named", () => {
    const issues = withUpdates([17, 18], [0], "1h", { loadBalancers: countGroup(200, 3, "10.0.20.21") });
    expect(issues.map((i) => i.message)).toEqual([
      "load balancers lb01 (17:00–18:00) and lb03 (17:00–18:00) have overlapping reboot windows",
    ]);
  });

  test("a windowDuration that is no duration is left to spec validation, not a throw", () => {
    expect(withUpdates([17], [0], "an hour")).toEqual([]);
  });

  test("no windows at all is an error", () => {
    expect(errors(withUpdates([], [0], "1h")).map((i) => i.path)).toEqual([["updates"]]);
  });
});

describe("inventoryIssues: leaves spec-level checks alone", () => {
  test("a pinned pveNode outside proxmox.nodes is not reported here", () => {
    const spec = specWithNodes({ servers: servers([{ name: "server01", ip: "10.0.20.31", pveNode: "node99" }]) }, quiet());
    expect(inventoryIssues(spec)).toEqual([]);
  });
});
