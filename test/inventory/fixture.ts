// Plain Spec objects for tests, shaped like the example in design.md §2. Build a variant by
// spreading: specFixture({ nodes: { ... } }) or with the group helpers below.
import type { HostEntry, NodeGroup, Spec, VmSpec } from "../../src/spec/types.ts";

export function vm(vmidStart: number, extra: Partial<VmSpec> = {}): VmSpec {
  return { cores: 2, memory: 4096, disk: 30, vmidStart, cpu: "x86-64-v2-AES", ...extra };
}

/** A group with an explicit hosts list. */
export function listedGroup(vmidStart: number, hosts: HostEntry[], extra: Partial<NodeGroup> = {}): NodeGroup {
  return { vm: vm(vmidStart), hosts, ...extra };
}

/** A group of `count` generated hosts with addresses from ipStart. */
export function countGroup(vmidStart: number, count: number, ipStart: string, extra: Partial<NodeGroup> = {}): NodeGroup {
  return { vm: vm(vmidStart), count, ipStart, ...extra };
}

export function specFixture(overrides: Partial<Spec> = {}): Spec {
  return {
    name: "homelab",
    proxmox: {
      endpoint: "https://pve1.lan:8006",
      tokenId: "root@pam!starbase",
      tokenSecret: { env: "PVE_TOKEN_SECRET" },
      tls: { fingerprint: "AB".repeat(32) },
      nodes: ["node01", "node02", "node03"],
      storage: { image: "local", disk: "local-lvm", cloudInit: "local" },
      vmCreatePerNode: 1,
    },
    image: { url: "https://download.opensuse.org/tumbleweed/appliances/openSUSE-MicroOS.x86_64-OpenStack-Cloud.qcow2" },
    ssh: { user: "root", authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFixtureFixtureFixtureFixtureFixture ops@laptop"], hostKeySecret: { env: "HOSTKEY_SECRET" }, knownHosts: "~/.ssh/known_hosts", acceptNewHostKeys: false },
    network: {
      interface: "ens18",
      bridge: "vmbr0",
      vlan: 20,
      mtu: 1500,
      model: "virtio",
      cidr: "10.0.20.0/24",
      gateway: "10.0.20.1",
      dns: ["10.0.20.1"],
      searchDomains: ["lan"],
    },
    extraNetworks: [],
    packages: ["qemu-guest-agent"],
    nodes: {
      loadBalancers: listedGroup(200, [{ name: "lb01", ip: "10.0.20.21" }, { name: "lb02", ip: "10.0.20.22" }]),
      servers: listedGroup(210, [
        { name: "server01", ip: "10.0.20.31" },
        { name: "server02", ip: "10.0.20.32" },
        { name: "server03", ip: "10.0.20.33" },
      ]),
      agents: countGroup(220, 3, "10.0.20.41"),
    },
    loadBalancer: { vip: "10.0.20.10", vrrp: { mode: "multicast", routerId: 51 } },
    rke2: { channel: "stable", cni: "canal", selinux: true, tlsSan: [] },
    updates: { rebootSlots: [17, 18], minuteOffsets: [0, 15, 30, 45], windowDuration: "1h", strategy: "best-effort" },
    kured: { enabled: true, startTime: "18:00", endTime: "23:00", timeZone: "UTC", chartVersion: "5.6.0" },
    ...overrides,
  };
}

/** The fixture with some node groups replaced. */
export function specWithNodes(nodes: Partial<Spec["nodes"]>, overrides: Partial<Spec> = {}): Spec {
  const base = specFixture(overrides);
  return { ...base, nodes: { ...base.nodes, ...nodes } };
}
