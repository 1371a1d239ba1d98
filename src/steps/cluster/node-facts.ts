// What the cluster phase reads of one node, in one round trip per host and run: the hashes of
// every node file render gives the host, the units and packages of its role, SELinux and the
// reboot settings. Every family on the host reads this one answer; none asks the node itself.
import type { Host, Inventory } from "../../inventory/types.ts";
import type { FactsQuery } from "../../nodeos/index.ts";
import type { RenderedFile } from "../../render/index.ts";
import { RKE2_JOIN_TOKEN_PATH } from "../../render/rke2-config.ts";

/** The ports haproxy binds on a load balancer: the API and RKE2's registration (SELinux labels). */
export const LOAD_BALANCER_PORTS = [6443, 9345] as const;

export const RKE2_NODE_TOKEN_PATH = "/var/lib/rancher/rke2/server/node-token";
export const RKE2_KUBECONFIG_PATH = "/etc/rancher/rke2/rke2.yaml";
/** Exists once a server has joined or started etcd (k3s IsInitialized looks at this directory). */
export const RKE2_ETCD_WAL = "/var/lib/rancher/rke2/server/db/etcd/member/wal";

export function rke2Unit(host: Host): string {
  return host.role === "agent" ? "rke2-agent.service" : "rke2-server.service";
}

export function rke2Package(host: Host): string {
  return host.role === "agent" ? "rke2-agent" : "rke2-server";
}

/** The packages of one RKE2 release on the host: its role's and their common base (same version). */
export function rke2ReleasePackages(host: Host): string[] {
  return [rke2Package(host), "rke2-common"];
}

/** The query for one host: its node files, and what its role's steps look at (boot: the seed's packages). */
export function factsQuery(inv: Inventory, host: Host, files: readonly RenderedFile[]): FactsQuery {
  const withSeed = (packages: string[]) => [...new Set([...packages, ...host.packages])];
  const paths = files.filter((file) => file.scope === "node").map((file) => file.path);
  if (host.role === "loadbalancer") {
    return {
      files: paths,
      exists: [],
      units: ["keepalived.service", "haproxy.service"],
      packages: withSeed(["keepalived", "haproxy"]),
      selinuxPorts: [...LOAD_BALANCER_PORTS],
      // Whether this load balancer holds the VIP: exactly one of them may.
      addresses: [inv.spec.loadBalancer.vip],
    };
  }
  return {
    // Joining nodes hold the first server's token; its hash tells a stale one from the current one.
    files: inv.firstServer.name === host.name ? paths : [...paths, RKE2_JOIN_TOKEN_PATH],
    exists: host.role === "server" ? [RKE2_NODE_TOKEN_PATH, RKE2_KUBECONFIG_PATH, RKE2_ETCD_WAL] : [],
    units: [rke2Unit(host)],
    packages: withSeed([...rke2ReleasePackages(host), "rke2-selinux"]),
    selinuxPorts: [],
  };
}
