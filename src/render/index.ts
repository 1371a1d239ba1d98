import type { Host, Inventory } from "../inventory/types.ts";
import { HAPROXY_CFG_PATH, renderHaproxy } from "./haproxy.ts";
import { hostKey } from "./hostkeys.ts";
import { KEEPALIVED_CONF_PATH, renderKeepalived, vrrpAuthPass } from "./keepalived.ts";
import { KURED_MANIFEST_PATH, renderKuredManifest } from "./kured.ts";
import { renderMetaData } from "./meta-data.ts";
import { renderNetworkConfig } from "./network-config.ts";
import { isFirstServer, RKE2_CONFIG_PATH, renderRke2Config } from "./rke2-config.ts";
import { renderUserData } from "./user-data.ts";

export { buildSeedIso } from "./iso.ts";
export type { IsoFile } from "./iso.ts";
export { hostKey, knownHosts } from "./hostkeys.ts";
export type { HostKey } from "./hostkeys.ts";

export interface RenderSecrets {
  hostKeySecret: string;
  vrrpAuthPass?: string;
}

export interface RenderedFile {
  /** "user-data" | "meta-data" | "network-config" for seed files; an absolute path on the node otherwise. */
  path: string;
  content: string;
  mode: number;
  /** seed: goes into the NoCloud ISO; node: written on the node over SSH. */
  scope: "seed" | "node";
}

function seedFiles(inv: Inventory, host: Host, secrets: RenderSecrets): RenderedFile[] {
  const userData = renderUserData(inv, host, hostKey(secrets.hostKeySecret, inv.spec.name, host.name));
  const networkConfig = renderNetworkConfig(inv, host);
  return [
    // user-data carries the host's private key.
    { path: "user-data", content: userData, mode: 0o600, scope: "seed" },
    { path: "meta-data", content: renderMetaData(host, userData, networkConfig), mode: 0o644, scope: "seed" },
    { path: "network-config", content: networkConfig, mode: 0o644, scope: "seed" },
  ];
}

function nodeFiles(inv: Inventory, host: Host, secrets: RenderSecrets): RenderedFile[] {
  if (host.role === "loadbalancer") {
    const authPass = vrrpAuthPass(inv.spec.name, secrets.hostKeySecret, secrets.vrrpAuthPass);
    return [
      // keepalived.conf holds the VRRP password.
      { path: KEEPALIVED_CONF_PATH, content: renderKeepalived(inv, host, authPass), mode: 0o600, scope: "node" },
      { path: HAPROXY_CFG_PATH, content: renderHaproxy(inv, host), mode: 0o644, scope: "node" },
    ];
  }
  const files: RenderedFile[] = [
    { path: RKE2_CONFIG_PATH, content: renderRke2Config(inv, host), mode: 0o600, scope: "node" },
  ];
  if (isFirstServer(inv, host) && inv.spec.kured.enabled) {
    files.push({ path: KURED_MANIFEST_PATH, content: renderKuredManifest(inv), mode: 0o600, scope: "node" });
  }
  return files;
}

/** Every file starbase writes for one host: its seed files, then the files on the node. Pure. */
export function renderHost(inv: Inventory, host: Host, secrets: RenderSecrets): RenderedFile[] {
  return [...seedFiles(inv, host, secrets), ...nodeFiles(inv, host, secrets)];
}
