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
