import haproxyTemplate from "../../templates/haproxy.cfg.mustache" with { type: "text" };
import type { Host, Inventory } from "../inventory/types.ts";
import { renderTemplate } from "./template.ts";

export const HAPROXY_CFG_PATH = "/etc/haproxy/haproxy.cfg";
const RKE2_API_PORT = 6443;
export const RKE2_REGISTRATION_PORT = 9345;

/** /etc/haproxy/haproxy.cfg: TCP pass-through to every RKE2 server by IP (no DNS needed at start). */
export function renderHaproxy(inv: Inventory, host: Host): string {
  return renderTemplate(haproxyTemplate, {
    cluster: inv.spec.name,
    hostName: host.name,
    apiPort: RKE2_API_PORT,
    registrationPort: RKE2_REGISTRATION_PORT,
    servers: inv.servers.map((server) => ({ name: server.name, ip: server.ip })),
  });
}
