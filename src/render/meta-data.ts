import { createHash } from "node:crypto";
import type { Host } from "../inventory/types.ts";
import { toYaml } from "./yaml.ts";

/**
 * NoCloud meta-data. The instance-id is a hash of user-data and network-config, so changing
 * either makes cloud-init treat the next boot as a new instance (as Proxmox's own seeds do).
 */
export function renderMetaData(host: Host, userData: string, networkConfig: string): string {
  const digest = createHash("sha256").update(userData).update("\0").update(networkConfig).digest("hex");
  return toYaml({ "instance-id": `starbase-${digest.slice(0, 32)}`, "local-hostname": host.name });
}
