import initializeTemplate from "../../templates/initialize.sh.mustache" with { type: "text" };
import type { Host, Inventory } from "../inventory/types.ts";
import { DEFAULT_NODE_OS } from "../nodeos/index.ts";
import type { HostKey } from "./hostkeys.ts";
import { renderTemplate } from "./template.ts";
import { toYaml } from "./yaml.ts";

export const INITIALIZE_SCRIPT_PATH = "/var/lib/cloud/scripts/per-instance/initialize.sh";

/** Interfaces that canal/calico create and manage (RKE2's NetworkManager guidance). */
const CNI_INTERFACES = ["flannel*", "cali*", "tunl*", "vxlan.calico", "vxlan-v6.calico", "wireguard.cali", "wg-v6.cali"];

/** Passwordless sudo for a non-root login user: starbase drives the node over SSH only. */
const SUDO_RULE = "ALL=(ALL) NOPASSWD:ALL";

/** The one-shot first-boot script (growpart off, CNI interfaces, who may reboot the node). */
function renderInitializeScript(inv: Inventory, host: Host): string {
  const isLoadBalancer = host.role === "loadbalancer";
  return renderTemplate(initializeTemplate, {
    hostName: host.name,
    role: host.role,
    cniUnmanagedDevices: isLoadBalancer ? "" : CNI_INTERFACES.map((name) => `interface-name:${name}`).join(";"),
    rebootSetup: DEFAULT_NODE_OS.rebootSetup(
      isLoadBalancer
        ? {
            method: "rebootmgr",
            window: { start: host.rebootWindow.start, duration: host.rebootWindow.duration },
            strategy: inv.spec.updates.strategy,
          }
        : { method: "kured" },
    ),
  });
}

function loginUsers(inv: Inventory): { users: object[]; disable_root?: boolean } {
  const { user, authorizedKeys } = inv.spec.ssh;
  const keys = { ssh_authorized_keys: [...authorizedKeys] };
  if (user === "root") {
    // Listing only root (no "default") creates no distro user; disable_root would otherwise
    // replace root's keys with a "please log in as …" stub.
    return { users: [{ name: "root", lock_passwd: true, ...keys }], disable_root: false };
  }
  return { users: [{ name: user, shell: "/bin/bash", sudo: SUDO_RULE, lock_passwd: true, ...keys }] };
}

/** cloud-init user-data (#cloud-config) for one host. */
export function renderUserData(inv: Inventory, host: Host, key: HostKey): string {
  const config = {
    hostname: host.name,
    fqdn: host.fqdn,
    prefer_fqdn_over_hostname: false,
    ...loginUsers(inv),
    ssh_pwauth: false,
    // The node presents the host key starbase derived, so the first SSH connection is already
    // verified. With ssh_keys given cloud-init generates nothing; the schema wants at least one
    // type, and ed25519 is the one that exists anyway.
    ssh_deletekeys: true,
    ssh_genkeytypes: ["ed25519"],
    ssh_keys: { ed25519_private: key.privateKey, ed25519_public: key.publicKey },
    package_update: true,
    package_upgrade: true,
    package_reboot_if_required: true,
    ...(host.packages.length > 0 ? { packages: [...host.packages] } : {}),
    write_files: [
      { path: INITIALIZE_SCRIPT_PATH, permissions: "0755", owner: "root:root", content: renderInitializeScript(inv, host) },
    ],
  };
  return `#cloud-config\n${toYaml(config)}`;
}
