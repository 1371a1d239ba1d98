import { describe, expect, test } from "bun:test";
import { buildInventory } from "../../src/inventory/build.ts";
import { GROUP_KEY, ROLE_ORDER } from "../../src/spec/groups.ts";
import type { Role, Spec } from "../../src/spec/types.ts";
import { countGroup, listedGroup, specFixture, specWithNodes } from "./fixture.ts";

const names = (hosts: { name: string }[]) => hosts.map((h) => h.name);

describe("buildInventory: order", () => {
  test("load balancers, then servers, then agents", () => {
    const inventory = buildInventory(specFixture());
    expect(names(inventory.hosts)).toEqual(["lb01", "lb02", "server01", "server02", "server03", "agent01", "agent02", "agent03"]);
    expect(inventory.hosts.map((h) => h.role)).toEqual([
      "loadbalancer", "loadbalancer", "server", "server", "server", "agent", "agent", "agent",
    ]);
    expect(inventory.loadBalancers).toEqual(inventory.hosts.slice(0, 2));
    expect(inventory.servers).toEqual(inventory.hosts.slice(2, 5));
    expect(inventory.agents).toEqual(inventory.hosts.slice(5));
  });

  test("declaration order within a type, never sorted (server10 after server9)", () => {
    const declared = ["server9", "server10", "zulu", "Alpha", "server1"];
    const spec = specWithNodes({
      servers: listedGroup(210, declared.map((name) => ({ name })), { ipStart: "10.0.20.100" }),
    });
    const { servers } = buildInventory(spec);
    expect(names(servers)).toEqual(declared);
    expect(servers.map((h) => h.index)).toEqual([0, 1, 2, 3, 4]);
    expect(servers.map((h) => h.vmid)).toEqual([210, 211, 212, 213, 214]);
    expect(servers.map((h) => h.ip)).toEqual(["10.0.20.100", "10.0.20.101", "10.0.20.102", "10.0.20.103", "10.0.20.104"]);
    expect(servers.map((h) => h.pveNode)).toEqual(["node01", "node02", "node03", "node01", "node02"]);
  });

  test("a spec without agents has none", () => {
    const base = specFixture();
    const spec: Spec = { ...base, nodes: { loadBalancers: base.nodes.loadBalancers, servers: base.nodes.servers } };
    const inventory = buildInventory(spec);
    expect(inventory.agents).toEqual([]);
    expect(inventory.hosts).toHaveLength(5);
  });
});

describe("buildInventory: addresses and VMIDs", () => {
  test("count + ipStart: consecutive addresses and VMIDs from the starts", () => {
    const { agents } = buildInventory(specWithNodes({ agents: countGroup(220, 3, "10.0.20.41") }));
    expect(agents.map((h) => [h.name, h.ip, h.vmid])).toEqual([
      ["agent01", "10.0.20.41", 220],
      ["agent02", "10.0.20.42", 221],
      ["agent03", "10.0.20.43", 222],
    ]);
  });

  test("derived addresses carry across octets", () => {
    const spec = specWithNodes({ agents: countGroup(220, 3, "10.0.20.254") }, {
      network: { ...specFixture().network, cidr: "10.0.20.0/23" },
    });
    const inventory = buildInventory(spec);
    expect(inventory.agents.map((h) => h.ip)).toEqual(["10.0.20.254", "10.0.20.255", "10.0.21.0"]);
    expect(inventory.prefixLength).toBe(23);
  });

  test("explicit hosts: a host's own ip and vmid win; the others take start + their own index", () => {
    const { servers } = buildInventory(specWithNodes({
      servers: listedGroup(210, [
        { name: "s-a" },
        { name: "s-b", ip: "10.0.20.77", vmid: 999 },
        { name: "s-c" },
      ], { ipStart: "10.0.20.31" }),
    }));
    expect(servers.map((h) => [h.name, h.ip, h.vmid])).toEqual([
      ["s-a", "10.0.20.31", 210],
      ["s-b", "10.0.20.77", 999],
      ["s-c", "10.0.20.33", 212],
    ]);
  });

  test("a host with no address to derive is refused, naming it", () => {
    const spec = specWithNodes({ servers: listedGroup(210, [{ name: "server01", ip: "10.0.20.31" }, { name: "nowhere" }]) });
    expect(() => buildInventory(spec)).toThrow(/nowhere/);
  });
});

describe("buildInventory: per-host details", () => {
  test("reboot windows: each type takes the windows from the first, in order", () => {
    const inventory = buildInventory(specWithNodes({ servers: countGroup(210, 9, "10.0.20.31") }));
    const starts = (hosts: { rebootWindow: { start: string } }[]) => hosts.map((h) => h.rebootWindow.start);
    expect(starts(inventory.loadBalancers)).toEqual(["17:00", "17:15"]);
    expect(starts(inventory.servers)).toEqual(["17:00", "17:15", "17:30", "17:45", "18:00", "18:15", "18:30", "18:45", "17:00"]);
    expect(inventory.servers[7]?.rebootWindow).toEqual({ start: "18:45", end: "19:45", duration: "1h" });
    expect(starts(inventory.agents)).toEqual(["17:00", "17:15", "17:30"]);
  });

  test("NICs: the cluster network first, then the cluster's extra networks, then the type's", () => {
    const spec = specWithNodes({
      agents: countGroup(220, 1, "10.0.20.41", {
        extraNetworks: [{ interface: "ens20", bridge: "vmbr2", model: "e1000", dhcp: false, vlan: 30 }],
      }),
    }, { extraNetworks: [{ interface: "ens19", bridge: "vmbr1", mtu: 9000, model: "virtio", dhcp: true }] });
    const inventory = buildInventory(spec);
    expect(inventory.agents[0]?.nics).toEqual([
      { index: 0, interface: "ens18", bridge: "vmbr0", vlan: 20, mtu: 1500, model: "virtio", address: "10.0.20.41/24" },
      { index: 1, interface: "ens19", bridge: "vmbr1", mtu: 9000, model: "virtio", address: "dhcp" },
      { index: 2, interface: "ens20", bridge: "vmbr2", vlan: 30, model: "e1000" },
    ]);
    expect(inventory.agents[0]?.nics[2]).not.toHaveProperty("address");
    expect(inventory.servers[0]?.nics.map((n) => n.interface)).toEqual(["ens18", "ens19"]);
  });

  test("a cluster network without vlan or mtu leaves them out", () => {
    const network = { ...specFixture().network };
    delete network.vlan;
    delete network.mtu;
    const [nic] = buildInventory(specFixture({ network })).hosts[0]?.nics ?? [];
    expect(nic).toEqual({ index: 0, interface: "ens18", bridge: "vmbr0", model: "virtio", address: "10.0.20.21/24" });
  });

  test("packages: cluster, then role, then group; duplicates dropped, order kept", () => {
    const spec = specWithNodes({
      agents: countGroup(220, 1, "10.0.20.41", { packages: ["nfs-client", "rke2", "open-iscsi"] }),
      loadBalancers: listedGroup(200, [{ name: "lb01", ip: "10.0.20.21" }], { packages: ["haproxy", "tcpdump"] }),
    }, { packages: ["qemu-guest-agent", "keepalived"] });
    const inventory = buildInventory(spec);
    expect(inventory.loadBalancers[0]?.packages).toEqual(["qemu-guest-agent", "keepalived", "haproxy", "psmisc", "tcpdump"]);
    expect(inventory.servers[0]?.packages).toEqual(["qemu-guest-agent", "keepalived"]);
    expect(inventory.agents[0]?.packages).toEqual(["qemu-guest-agent", "keepalived", "nfs-client", "rke2", "open-iscsi"]);
  });

  test("fqdn, vm hardware and pinned node", () => {
    const spec = specWithNodes({
      servers: listedGroup(210, [{ name: "server01", ip: "10.0.20.31", pveNode: "node03" }]),
    });
    const [server] = buildInventory(spec).servers;
    expect(server?.fqdn).toBe("server01.lan");
    expect(server?.pveNode).toBe("node03");
    expect(server?.vm).toBe(spec.nodes.servers.vm);
  });
});

// Appending one host at the end of a type must leave every existing host exactly as it was.
function appendHost(spec: Spec, role: Role, freeIp: string): Spec {
  const key = GROUP_KEY[role];
  const group = spec.nodes[key];
  if (group === undefined) return spec;
  const grown = group.hosts !== undefined
    ? { ...group, hosts: [...group.hosts, group.ipStart === undefined ? { name: `${key}-new`, ip: freeIp } : { name: `${key}-new` }] }
    : { ...group, count: (group.count ?? 0) + 1 };
  return { ...spec, nodes: { ...spec.nodes, [key]: grown } };
}

const APPEND_SPECS: Record<string, Spec> = {
  "the design example": specFixture(),
  "all count groups": specWithNodes({
    loadBalancers: countGroup(200, 2, "10.0.20.21"),
    servers: countGroup(210, 6, "10.0.20.31"),
    agents: countGroup(300, 3, "10.0.20.41"),
  }),
  "pins, own vmids, listed ipStart, extra networks, two PVE nodes": specWithNodes({
    loadBalancers: listedGroup(200, [{ name: "lb-b", ip: "10.0.20.22", pveNode: "node02" }, { name: "lb-a", ip: "10.0.20.21" }]),
    servers: listedGroup(210, [
      { name: "cp9", vmid: 5000 },
      { name: "cp10", pveNode: "node01" },
      { name: "cp1", ip: "10.0.20.99" },
    ], { ipStart: "10.0.20.31", extraNetworks: [{ interface: "ens20", bridge: "vmbr2", model: "virtio", dhcp: false }] }),
    agents: countGroup(220, 99, "10.0.20.101", { namePrefix: "w" }),
  }, {
    proxmox: { ...specFixture().proxmox, nodes: ["pve-b", "pve-a"] },
    updates: { rebootSlots: [23], minuteOffsets: [0, 30], windowDuration: "90m", strategy: "best-effort" },
  }),
};

describe("buildInventory: appending a host never changes an existing one", () => {
  for (const [label, spec] of Object.entries(APPEND_SPECS)) {
    for (const role of ROLE_ORDER) {
      test(`${label}: one more ${role}`, () => {
        const before = buildInventory(spec).hosts;
        const after = buildInventory(appendHost(spec, role, "10.0.20.250")).hosts;
        expect(after).toHaveLength(before.length + 1);
        const added = after.filter((h) => !before.some((b) => b.name === h.name));
        expect(added).toHaveLength(1);
        expect(added[0]?.role).toBe(role);
        expect(after.filter((h) => h !== added[0])).toEqual(before);
      });
    }
  }
});
