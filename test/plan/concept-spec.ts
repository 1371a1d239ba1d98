import type { Spec } from "../../src/spec/types.ts";

/** The concept document's topology: 3 PVE nodes, 2 LBs, 6 servers, 3 agents (count-generated). */
export function conceptSpec(): Spec {
  const vm = (vmidStart: number) => ({ cores: 2, memory: 4096, disk: 40, vmidStart, cpu: "x86-64-v2-AES" });
  return {
    name: "homelab",
    proxmox: {
      endpoint: "https://pve1.lan:8006",
      tokenId: "root@pam!starbase",
      tokenSecret: { env: "PVE_TOKEN_SECRET" },
      tls: { insecure: true },
      nodes: ["node01", "node02", "node03"],
      storage: { image: "local", disk: "local-lvm", cloudInit: "local" },
      vmCreatePerNode: 1,
    },
    image: { url: "https://example.org/microos.qcow2" },
    ssh: { user: "root", authorizedKeys: [], hostKeySecret: { env: "HOST_KEY_SECRET" } },
    network: {
      interface: "ens18",
      bridge: "vmbr0",
      model: "virtio",
      cidr: "10.0.20.0/24",
      gateway: "10.0.20.1",
      dns: ["10.0.20.1"],
      searchDomains: ["lan"],
    },
    extraNetworks: [],
    packages: [],
    nodes: {
      loadBalancers: { vm: vm(200), hosts: [{ name: "lb01", ip: "10.0.20.21" }, { name: "lb02", ip: "10.0.20.22" }] },
      servers: {
        vm: vm(210),
        hosts: [1, 2, 3, 4, 5, 6].map((n) => ({ name: `server0${n}`, ip: `10.0.20.3${n}` })),
      },
      agents: { vm: vm(220), count: 3, ipStart: "10.0.20.41" },
    },
    loadBalancer: { vip: "10.0.20.10", vrrp: { mode: "multicast", routerId: 51 } },
    rke2: { channel: "stable", cni: "canal", selinux: true, tlsSan: [] },
    updates: { rebootSlots: [17, 18], minuteOffsets: [0, 15, 30, 45], windowDuration: "1h", strategy: "best-effort" },
    kured: { enabled: true, startTime: "18:00", endTime: "23:00", timeZone: "UTC", chartVersion: "5.6.0" },
  };
}
