// check_vm_modify_config_perm of qemu-server: which privilege each config option needs.
import { requirePrivileges, type Identity } from "../auth.ts";
import { handlerError } from "../errors.ts";
import { DRIVE_KEY_RE, isCdrom, parseDrive } from "../vm-config.ts";

const CPU_OPTIONS = new Set(["cores", "cpu", "cpulimit", "cpuunits", "numa", "smp", "sockets", "vcpus", "affinity"]);
const MEMORY_OPTIONS = new Set(["memory", "balloon", "shares"]);
const HWTYPE_OPTIONS = new Set(["acpi", "hotplug", "kvm", "machine", "scsihw", "smbios1", "tablet", "vga", "watchdog", "audio0", "rng0"]);
const GENERAL_OPTIONS = new Set([
  "agent", "autostart", "bios", "description", "keyboard", "localtime", "migrate_downtime", "migrate_speed",
  "name", "onboot", "ostype", "protection", "reboot", "startdate", "startup", "tdf", "template",
]);
const DISK_OPTIONS = new Set(["boot", "bootdisk", "vmstatestorage"]);
const CLOUDINIT_OPTIONS = new Set(["cicustom", "cipassword", "citype", "ciuser", "ciupgrade", "nameserver", "searchdomain", "sshkeys"]);

/** Checks the privileges for setting or deleting `keys`; drives are judged by their (new) value. */
export function checkOptionPermissions(identity: Identity, vmid: number, keys: string[], values: Record<string, string>): void {
  const path = `/vms/${vmid}`;
  const need = (privileges: string[], any = false): void => requirePrivileges(identity, path, privileges, any);
  for (const key of keys) {
    if (DRIVE_KEY_RE.test(key)) {
      const value = values[key];
      need([value !== undefined && isCdrom(parseDrive(value)) ? "VM.Config.CDROM" : "VM.Config.Disk"]);
    } else if (/^unused\d+$/.test(key)) {
      need(["VM.Config.Disk"]);
    } else if (/^serial\d+$/.test(key)) {
      const value = values[key];
      if (value !== undefined && value !== "socket") throw handlerError(`only root can set '${key}' config for real devices`);
      need(["VM.Config.HWType"]);
    } else if (/^(usb|hostpci)\d+$/.test(key) || HWTYPE_OPTIONS.has(key)) {
      need(["VM.Config.HWType"]);
    } else if (key === "tags") {
      // Checked later, with the tag rules, by assert_tag_permissions (tag-access.ts).
    } else if (GENERAL_OPTIONS.has(key)) {
      need(["VM.Config.Options"]);
      if (key === "startup") requirePrivileges(identity, "/", ["Sys.Modify"]);
    } else if (CPU_OPTIONS.has(key) || /^numa\d+$/.test(key)) {
      need(["VM.Config.CPU"]);
    } else if (MEMORY_OPTIONS.has(key)) {
      need(["VM.Config.Memory"]);
    } else if (key === "freeze") {
      need(["VM.PowerMgmt"]);
    } else if (DISK_OPTIONS.has(key)) {
      need(["VM.Config.Disk"]);
    } else if (/^net\d+$/.test(key)) {
      need(["VM.Config.Network"]);
    } else if (CLOUDINIT_OPTIONS.has(key) || /^ipconfig\d+$/.test(key)) {
      need(["VM.Config.Cloudinit", "VM.Config.Network"], true);
    } else if (key !== "cdrom") {
      throw handlerError(`only root can set '${key}' config`);
    }
  }
}

/** validate_ssh_public_keys after URI-unescaping the `sshkeys` value. */
export function checkSshKeys(encoded: string | undefined): void {
  if (encoded === undefined) return;
  const keys = decodeURIComponent(encoded);
  const keyLine = /^(?:[a-z0-9-]+(?:="[^"]*")?(?:,[a-z0-9-]+(?:="[^"]*")?)* )?(ssh-(?:rsa|dss|ed25519)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com) [A-Za-z0-9+/]+={0,3}(?: .*)?$/;
  for (const line of keys.split("\n")) {
    if (line.trim() === "" || line.startsWith("#")) continue;
    if (!keyLine.test(line.trim())) throw handlerError("SSH public key validation error");
  }
}

/** get_tags_from_trunk: "10;20-22" → 10, 20, 21, 22. */
function trunkTags(trunks: string): number[] {
  return trunks.split(";").flatMap((part) => {
    const [from = "", to] = part.split("-");
    const first = Number(from);
    return Array.from({ length: to === undefined ? 1 : Number(to) - first + 1 }, (_, offset) => first + offset);
  });
}

/**
 * check_bridge_access (qemu-server) → check_vnet_access (pve-guest-common), for create and
 * update since PVE 8: SDN.Use on /sdn/zones/<zone>/<bridge>/<vlan> for a tagged NIC (and each
 * trunk VLAN), else on /sdn/zones/<zone>/<bridge>. A plain Linux bridge is in the zone
 * `localnetwork`; the emulator has no SDN VNets.
 */
export function checkBridgeAccess(identity: Identity, settings: Record<string, string>): void {
  for (const key of Object.keys(settings).filter((option) => /^net\d+$/.test(option)).sort()) {
    const fields = new Map((settings[key] ?? "").split(",").map((part) => [part.slice(0, part.indexOf("=")), part.slice(part.indexOf("=") + 1)] as const));
    const bridge = fields.get("bridge");
    if (bridge === undefined) continue;
    const path = `/sdn/zones/localnetwork/${bridge}`;
    const tag = fields.get("tag");
    const trunks = fields.get("trunks");
    if (tag) requirePrivileges(identity, `${path}/${tag}`, ["SDN.Use"]);
    for (const vlan of trunks ? trunkTags(trunks).sort((a, b) => a - b) : []) requirePrivileges(identity, `${path}/${vlan}`, ["SDN.Use"]);
    if (!tag && !trunks) requirePrivileges(identity, path, ["SDN.Use"]);
  }
}
