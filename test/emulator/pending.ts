// Pending changes of qemu-server. A config update writes every option to the [PENDING]
// section first; on a stopped VM vmconfig_apply_pending moves all of it into the config at
// once, on a running VM vmconfig_hotplug_pending moves only what can change in place (with the
// default `hotplug: network,disk,usb`: NICs, disks other than IDE/SATA, CD-ROM media, balloon,
// tags, name and the other "fast plug" options) and leaves the rest — memory, cores, cpu,
// vga, serial, disk options like iothread — pending until the next start (vm_start applies
// pending changes; a reboot from inside the guest does not start a new QEMU and applies none).
import type { VmRecord } from "./state.ts";
import { DRIVE_KEY_RE, isCdrom, isCloudinitVolume, parseDrive } from "./vm-config.ts";

// $fast_plug_option plus the cloud-init options (qemu-server PVE::QemuServer).
const FAST_PLUG = new Set([
  "description", "hookscript", "lock", "migrate_downtime", "migrate_speed", "name", "onboot", "protection", "shares",
  "startup", "tags", "vmstatestorage", "cicustom", "cipassword", "citype", "ciuser", "ciupgrade", "nameserver",
  "searchdomain", "sshkeys",
]);
// vmconfig_update_disk: changing one of these on an attached disk needs a restart.
const COLD_DRIVE_OPTIONS = ["aio", "discard", "iothread", "queues", "product", "cache", "ssd", "vendor", "ro"];
const NET_COLD_KEYS = ["model", "macaddr", "queues", "mtu"];

const isFastPlug = (key: string): boolean => FAST_PLUG.has(key) || /^ipconfig\d+$/.test(key);

/** parse_hotplug_features: "1" or unset = network,disk,usb; "0" = nothing. */
function hotplugFeatures(config: Record<string, string>): Set<string> {
  const value = config.hotplug ?? "1";
  if (value === "0") return new Set();
  return new Set((value === "1" ? "network,disk,usb" : value).split(",").map((feature) => feature.trim()));
}

/** parse_net as far as vmconfig_update_net compares NICs: the model carries the MAC. */
function netFields(value: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const [index, part] of value.split(",").entries()) {
    const split = part.indexOf("=");
    const key = part.slice(0, split);
    if (index === 0 && !["model", "bridge", "tag", "mtu", "queues", "rate", "firewall", "link_down", "trunks"].includes(key)) {
      fields.set("model", key);
      fields.set("macaddr", part.slice(split + 1).toUpperCase());
    } else {
      fields.set(key, part.slice(split + 1));
    }
  }
  return fields;
}

function balloonEnabled(value: string | undefined): boolean {
  return value === undefined || Number(value) !== 0;
}

/** vmconfig_hotplug_pending for a set option: does Proxmox change it on the running VM? */
function setsLive(key: string, before: string | undefined, after: string, config: Record<string, string>): boolean {
  const features = hotplugFeatures(config);
  if (isFastPlug(key)) return true;
  if (key === "hotplug") return !/memory|cpu/.test(after) && !/memory|cpu/.test(config.hotplug ?? "");
  if (key === "tablet") return features.has("usb");
  if (key === "vcpus") return features.has("cpu");
  if (key === "memory") return features.has("memory");
  if (key === "cpuunits" || key === "cpulimit") return true;
  if (key === "balloon") return balloonEnabled(before) === balloonEnabled(after);
  if (key === "agent") {
    // vmconfig_update_agent: only fstrim_cloned_disks changes in place.
    if (before === undefined) return false;
    const fields = (value: string) => new Map(value.split(",").map((part) => (part.includes("=") ? part.split("=") : ["enabled", part]) as [string, string]));
    const [old, now] = [fields(before), fields(after)];
    return [...new Set([...old.keys(), ...now.keys()])].every((option) => option === "fstrim_cloned_disks" || old.get(option) === now.get(option));
  }
  if (/^net\d+$/.test(key)) {
    if (before === undefined) return features.has("network");
    const [old, now] = [netFields(before), netFields(after)];
    const sameDevice = NET_COLD_KEYS.every((field) => old.get(field) === now.get(field)) && old.has("bridge") && now.has("bridge");
    return sameDevice || features.has("network");
  }
  if (DRIVE_KEY_RE.test(key)) {
    if (key === "efidisk0" || key === "tpmstate0") return false;
    const drive = parseDrive(after);
    if (isCloudinitVolume(drive.file)) return true;
    if (before !== undefined) {
      const old = parseDrive(before);
      if (isCdrom(old)) return true;
      if (old.file !== drive.file) return features.has("disk");
      return COLD_DRIVE_OPTIONS.every((option) => old.options[option] === drive.options[option]);
    }
    return features.has("disk") && !/^(ide|sata)\d+$/.test(key);
  }
  return false;
}

/** vmconfig_hotplug_pending for a deleted option. */
function deletesLive(key: string, config: Record<string, string>): boolean {
  const features = hotplugFeatures(config);
  if (isFastPlug(key) || key === "cpuunits" || key === "cpulimit") return true;
  if (key === "hotplug") return !/cpu|memory/.test(config.hotplug ?? "");
  if (key === "tablet") return features.has("usb");
  if (key === "vcpus") return features.has("cpu");
  if (key === "memory") return features.has("memory");
  if (key === "balloon") return balloonEnabled(config.balloon);
  if (/^net\d+$/.test(key)) return features.has("network");
  if (DRIVE_KEY_RE.test(key)) return features.has("disk") && !/^(efidisk|ide|sata|tpmstate)\d+$/.test(key);
  return false;
}

/**
 * The update of a running VM: `after` is its config with the update applied; what cannot
 * change in place goes back to its old value and into the pending section instead. `touched`
 * are the options the update named (a value equal to the current one clears its pending entry).
 */
export function holdBackPending(vm: VmRecord, after: Record<string, string>, touched: readonly string[]): void {
  const before = vm.config;
  const config = { ...after };
  const pending = { ...vm.pending };
  const deletes = new Set(vm.pendingDelete);
  for (const key of new Set([...Object.keys(before), ...Object.keys(after), ...touched])) {
    const [old, now] = [before[key], after[key]];
    if (old === now) {
      if (touched.includes(key)) {
        delete pending[key];
        deletes.delete(key);
      }
      continue;
    }
    delete pending[key];
    deletes.delete(key);
    if (now === undefined ? deletesLive(key, before) : setsLive(key, old, now, before)) continue;
    if (old === undefined) delete config[key];
    else config[key] = old;
    if (now === undefined) deletes.add(key);
    else pending[key] = now;
  }
  vm.config = config;
  setPending(vm, pending, [...deletes]);
}

function setPending(vm: VmRecord, pending: Record<string, string>, deletes: string[]): void {
  if (Object.keys(pending).length > 0) vm.pending = pending;
  else delete vm.pending;
  if (deletes.length > 0) vm.pendingDelete = deletes.sort();
  else delete vm.pendingDelete;
}

/** vmconfig_apply_pending (at start, or on any update of a stopped VM): everything pending takes effect. */
export function applyPending(vm: VmRecord, config = configWithPending(vm)): void {
  vm.config = config;
  setPending(vm, {}, []);
}

/** load_current_config without `current`: the config as it will be, pending values taken in. */
export function configWithPending(vm: VmRecord): Record<string, string> {
  const config = { ...vm.config, ...vm.pending };
  for (const key of vm.pendingDelete ?? []) delete config[key];
  return config;
}
