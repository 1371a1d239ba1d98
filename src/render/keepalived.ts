import { createHmac } from "node:crypto";
import keepalivedTemplate from "../../templates/keepalived.conf.mustache" with { type: "text" };
import type { Host, Inventory } from "../inventory/types.ts";
import { renderTemplate } from "./template.ts";

export const KEEPALIVED_CONF_PATH = "/etc/keepalived/keepalived.conf";

const MASTER_PRIORITY = 150;
/** BACKUPs count down from here, so no two load balancers tie (a tie falls back to the highest IP). */
const FIRST_BACKUP_PRIORITY = 100;
/** keepalived uses only the first 8 characters of auth_pass. */
const AUTH_PASS_LENGTH = 8;

/** MASTER for the first load balancer, then distinct, descending BACKUP priorities. */
export function vrrpPriority(index: number): number {
  if (index === 0) return MASTER_PRIORITY;
  const priority = FIRST_BACKUP_PRIORITY - (index - 1);
  if (priority < 1) throw new Error(`keepalived: no VRRP priority left for load balancer number ${index + 1}`);
  return priority;
}

/**
 * The VRRP PASS secret: the one the spec references, or one derived from the host-key secret and
 * the cluster name, so every load balancer of the cluster renders the same value.
 */
export function vrrpAuthPass(cluster: string, hostKeySecret: string, configured: string | undefined): string {
  if (configured !== undefined) {
    // keepalived's parser splits on blanks, strips quotes and treats # and ! as comments.
    if (!/^[\x21-\x7e]+$/.test(configured) || /["#!{}]/.test(configured) || configured.length > AUTH_PASS_LENGTH) {
      throw new Error(
        `keepalived: loadBalancer.vrrp.authPass must be 1 to ${AUTH_PASS_LENGTH} printable characters without blanks, quotes, braces, # or !`,
      );
    }
    return configured;
  }
  const digest = createHmac("sha256", hostKeySecret).update(`starbase/vrrp-auth/v1/${cluster}`).digest("base64url");
  return digest.slice(0, AUTH_PASS_LENGTH);
}

/** /etc/keepalived/keepalived.conf for one load balancer. */
export function renderKeepalived(inv: Inventory, host: Host, authPass: string): string {
  const { network, loadBalancer, name } = inv.spec;
  const peers = inv.loadBalancers.filter((lb) => lb.name !== host.name).map((lb) => lb.ip);
  // With no peer keepalived would fall back to multicast anyway; a lone LB simply advertises.
  const unicast = loadBalancer.vrrp.mode === "unicast" && peers.length > 0 ? { sourceIp: host.ip, peers } : false;
  return renderTemplate(keepalivedTemplate, {
    cluster: name,
    hostName: host.name,
    instanceName: `${name}-api-vip`,
    state: host.name === inv.firstLoadBalancer.name ? "MASTER" : "BACKUP",
    interface: network.interface,
    routerId: loadBalancer.vrrp.routerId,
    priority: vrrpPriority(host.index),
    authPass,
    unicast,
    vip: loadBalancer.vip,
    prefixLength: inv.prefixLength,
  });
}
