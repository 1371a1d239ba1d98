import type { Host, Inventory } from "../inventory/types.ts";
import { RKE2_REGISTRATION_PORT } from "./haproxy.ts";
import { toYaml } from "./yaml.ts";

export const RKE2_CONFIG_PATH = "/etc/rancher/rke2/config.yaml";
/** Written 0600 by the cluster phase from the first server's token; config.yaml only points at it. */
export const RKE2_JOIN_TOKEN_PATH = "/etc/rancher/rke2/join-token";

export function isFirstServer(inv: Inventory, host: Host): boolean {
  return inv.firstServer.name === host.name;
}

/** The VIP, every load balancer's name and FQDN, then the spec's own extra names; no duplicates. */
function tlsSans(inv: Inventory): string[] {
  const names = inv.loadBalancers.flatMap((lb) => [lb.name, lb.fqdn]);
  return [...new Set([inv.spec.loadBalancer.vip, ...names, ...inv.spec.rke2.tlsSan])];
}

/**
 * /etc/rancher/rke2/config.yaml. It holds no secret: joining nodes read the token from
 * token-file, so the file can be rendered and reviewed anywhere. Agents get only agent keys.
 */
export function renderRke2Config(inv: Inventory, host: Host): string {
  const { rke2, loadBalancer } = inv.spec;
  const join = isFirstServer(inv, host)
    ? {}
    : { server: `https://${loadBalancer.vip}:${RKE2_REGISTRATION_PORT}`, "token-file": RKE2_JOIN_TOKEN_PATH };
  const node = { "node-name": host.name, "node-ip": host.ip };
  if (host.role === "agent") return toYaml({ ...join, ...node, selinux: rke2.selinux });
  if (host.role !== "server") throw new Error(`rke2 config: ${host.name} is a ${host.role}, not an RKE2 node`);
  return toYaml({
    ...join,
    ...node,
    "tls-san": tlsSans(inv),
    cni: rke2.cni,
    selinux: rke2.selinux,
    "write-kubeconfig-mode": "0600",
  });
}
