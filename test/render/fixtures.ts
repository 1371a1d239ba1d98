import { buildInventory } from "../../src/inventory/build.ts";
import type { Inventory } from "../../src/inventory/types.ts";
import type { Spec } from "../../src/spec/types.ts";
import { countGroup, listedGroup, specFixture } from "../inventory/fixture.ts";
import { hostKey, type RenderSecrets } from "../../src/render/index.ts";

export const SECRETS: RenderSecrets = { hostKeySecret: "test-host-key-secret-0123456789" };

/** A real Ed25519 public key line for the operator (its private half is never used here). */
export const OPS_KEY = hostKey("operator-secret", "laptop", "ops@laptop").publicKey;

/** 3 PVE nodes, 2 load balancers, 3 servers, 2 agents on 198.18.20.0/24, with a DHCP storage NIC on the agents. */
export function realisticSpec(): Spec {
  return specFixture({
    ssh: { user: "root", authorizedKeys: [OPS_KEY], hostKeySecret: { env: "HOST_KEY_SECRET" }, knownHosts: "~/.ssh/known_hosts", acceptNewHostKeys: false },
    network: {
      interface: "ens18",
      bridge: "vmbr0",
      model: "virtio",
      mtu: 1500,
      cidr: "198.18.20.0/24",
      gateway: "198.18.20.1",
      dns: ["198.18.20.1", "198.18.20.2"],
      searchDomains: ["lan", "example.internal"],
    },
    nodes: {
      loadBalancers: listedGroup(200, [
        { name: "lb01", ip: "198.18.20.21" },
        { name: "lb02", ip: "198.18.20.22" },
      ]),
      servers: listedGroup(210, [
        { name: "server01", ip: "198.18.20.31" },
        { name: "server02", ip: "198.18.20.32" },
        { name: "server03", ip: "198.18.20.33" },
      ]),
      agents: countGroup(220, 2, "198.18.20.41", {
        extraNetworks: [{ interface: "ens19", bridge: "vmbr1", mtu: 9000, model: "virtio", dhcp: true }],
        packages: ["open-iscsi"],
      }),
    },
    loadBalancer: { vip: "198.18.20.10", vrrp: { mode: "multicast", routerId: 51 } },
    rke2: { channel: "stable", cni: "canal", selinux: true, tlsSan: ["k8s.example.internal"] },
    updates: { rebootSlots: [17, 18], minuteOffsets: [0, 15, 30, 45], windowDuration: "1h30m", strategy: "best-effort" },
    kured: { enabled: true, startTime: "18:00", endTime: "23:00", timeZone: "Europe/Berlin", chartVersion: "5.6.0" },
  });
}

/** The realistic cluster with three load balancers in unicast mode, a non-root login user and no kured. */
export function unicastSpec(): Spec {
  const spec = realisticSpec();
  spec.loadBalancer.vrrp = { mode: "unicast", routerId: 77 };
  spec.nodes.loadBalancers.hosts = [
    { name: "lb01", ip: "198.18.20.21" },
    { name: "lb02", ip: "198.18.20.22" },
    { name: "lb03", ip: "198.18.20.23" },
  ];
  spec.ssh.user = "ops";
  spec.extraNetworks = [{ interface: "ens20", bridge: "vmbr2", model: "virtio", dhcp: false }];
  spec.kured.enabled = false;
  spec.updates.strategy = "maint-window";
  return spec;
}

/** One load balancer and one server, nothing optional: no search domains, DNS, MTU, cluster-wide packages or agents. */
export function minimalSpec(): Spec {
  const spec = realisticSpec();
  spec.network = {
    interface: "eth0",
    bridge: "vmbr0",
    model: "virtio",
    cidr: "198.18.30.0/28",
    gateway: "198.18.30.1",
    dns: [],
    searchDomains: [],
  };
  spec.packages = [];
  spec.nodes = {
    loadBalancers: listedGroup(200, [{ name: "lb01", ip: "198.18.30.2" }]),
    servers: listedGroup(210, [{ name: "server01", ip: "198.18.30.3" }]),
  };
  spec.loadBalancer = { vip: "198.18.30.10", vrrp: { mode: "unicast", routerId: 1 } };
  spec.rke2 = { cni: "calico", selinux: false, tlsSan: [] };
  return spec;
}

export const INVENTORIES: { label: string; inv: Inventory }[] = [
  { label: "realistic", inv: buildInventory(realisticSpec()) },
  { label: "unicast", inv: buildInventory(unicastSpec()) },
  { label: "minimal", inv: buildInventory(minimalSpec()) },
];

export function hostNamed(inv: Inventory, name: string) {
  const host = inv.hosts.find((h) => h.name === name);
  if (host === undefined) throw new Error(`fixture has no host ${name}`);
  return host;
}
