// Field by field comparison of a VM's config with the desired one, on every run. Unmanaged
// options, the MAC addresses and user tags are left as they are. GET …/pending gives both the
// values the VM runs with and those Proxmox holds back until its next start (memory, cores,
// cpu … of a running VM): what differs only from the running values is reported as pending and
// never sent again.

import type { Change } from "../observed.ts";
import { BOOT_DISK, type DesiredVm, DISK_OPTION_ITEMS, DISK_OPTIONS, SEED_DRIVE } from "./desired.ts";
import { isLegacyConfigTag, isManagedTag, tagsOf } from "./tags.ts";
import { GIB, parseDiskSize, parseNetDevice, parsePropertyString } from "../../proxmox/property-string.ts";

export type VmConfig = Record<string, string | number | undefined>;

export interface ConfigDiff {
  changes: Change[];
  /** Options for one POST …/config; empty when nothing but the disk size or start differs. */
  set: Record<string, string>;
  /** Options to remove (extra NICs). */
  remove: string[];
  /** Grow the boot disk to this many GiB. */
  growDiskGiB?: number;
}

// Proxmox applies these to a running VM at once; every other managed option waits for the next start.
const LIVE_OPTIONS = /^(net\d+|ide2|tags|balloon)$/;
const PENDING_REASON = "pending until restart: Proxmox applies it when the VM is next started from Proxmox "
  + "(stop and start, or reboot it in Proxmox; a reboot inside the guest is not enough); starbase does not restart VMs";

/** One option of GET …/pending: the running value, the pending one, and whether its removal is pending. */
export interface PendingItem {
  key: string;
  value?: string | number;
  pending?: string | number;
  delete?: number;
}
const NET_KEYS = ["bridge", "tag", "mtu"] as const;

/** A config value as text (Proxmox answers numbers for some options). */
export function configText(value: string | number | undefined): string | undefined {
  return value === undefined ? undefined : String(value);
}

/** Equality as Proxmox means it for one managed option (defaults and key order do not count). */
function sameOption(key: string, want: string, have: string | undefined): boolean {
  if (have === undefined) return false;
  if (/^net\d+$/.test(key)) {
    const a = parseNetDevice(want);
    const b = parseNetDevice(have);
    return a.model === b.model && NET_KEYS.every((k) => a.props.get(k) === b.props.get(k));
  }
  switch (key) {
    case "cores":
    case "balloon":
      return Number(want) === Number(have);
    case "memory":
      return Number(want) === Number(parsePropertyString(have, "current").get("current"));
    case "agent":
      return truthy(parsePropertyString(want, "enabled").get("enabled")) === truthy(parsePropertyString(have, "enabled").get("enabled"));
    case "cpu":
    case "boot":
    case SEED_DRIVE: {
      const defaultKey = key === "cpu" ? "cputype" : key === "boot" ? "order" : "file";
      const a = parsePropertyString(want, defaultKey);
      const b = parsePropertyString(have, defaultKey);
      return [...a].every(([k, v]) => b.get(k) === v);
    }
    default:
      return want === have;
  }
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && /^(1|on|yes|true)$/i.test(value);
}

/** The option to send for a NIC: the desired one with the existing MAC, so the guest keeps its interface identity. */
function nicWithMac(want: string, have: string | undefined): string {
  const mac = have === undefined ? undefined : parseNetDevice(have).mac;
  if (mac === undefined) return want;
  const [model, ...rest] = want.split(",");
  return [`${model}=${mac}`, ...rest].join(",");
}

export function diffConfig(desired: DesiredVm, config: VmConfig, subject: string, running: boolean): ConfigDiff {
  const diff: ConfigDiff = { changes: [], set: {}, remove: [] };
  const reasonFor = (key: string) => running && !LIVE_OPTIONS.test(key)
    ? "differs from the spec; takes effect when the VM restarts" : "differs from the spec";

  for (const [key, want] of Object.entries(desired.options)) {
    const have = configText(config[key]);
    if (sameOption(key, want, have)) continue;
    diff.set[key] = /^net\d+$/.test(key) ? nicWithMac(want, have) : want;
    diff.changes.push({ op: "~", subject, field: key, from: have ?? "(unset)", to: want, reason: reasonFor(key) });
  }
  for (const key of Object.keys(config).filter((k) => /^net\d+$/.test(k) && !(k in desired.options))) {
    diff.remove.push(key);
    diff.changes.push({ op: "~", subject, field: key, from: configText(config[key]), to: "(removed)", reason: "the spec has no such NIC" });
  }

  diffBootDisk(desired, configText(config[BOOT_DISK]), subject, diff);

  const haveTags = tagsOf(config.tags);
  const managed = haveTags.filter(isManagedTag).sort();
  if (managed.join(";") !== desired.tags.join(";")) {
    diff.set.tags = [...desired.tags, ...haveTags.filter((t) => !isManagedTag(t))].join(";");
    const onlyLegacy = managed.filter((t) => !isLegacyConfigTag(t)).join(";") === desired.tags.join(";");
    diff.changes.push({ op: "~", subject, field: "tags", from: managed.join(";") || "(none)", to: desired.tags.join(";"),
      reason: onlyLegacy ? "starbase no longer tags the config hash" : reasonFor("tags") });
  }
  return diff;
}

function diffBootDisk(desired: DesiredVm, have: string | undefined, subject: string, diff: ConfigDiff): void {
  if (have === undefined) {
    diff.changes.push({ op: "!", subject, field: BOOT_DISK, from: "(none)", to: `${desired.diskGiB}G`,
      reason: "the VM has no boot disk; destroy it and apply again to re-create it from the image" });
    return;
  }
  const disk = parsePropertyString(have, "file");
  const sizeText = disk.get("size");
  const bytes = sizeText === undefined ? undefined : parseDiskSize(sizeText);
  const wantBytes = desired.diskGiB * GIB;
  if (bytes !== undefined && bytes > wantBytes) {
    diff.changes.push({ op: "!", subject, field: `${BOOT_DISK} size`, from: sizeText, to: `${desired.diskGiB}G`,
      reason: "Proxmox cannot shrink a disk; re-creating the VM would lose its data: raise the disk size in the spec, or destroy the VM and apply again" });
  } else if (bytes === undefined || bytes < wantBytes) {
    diff.growDiskGiB = desired.diskGiB;
    diff.changes.push({ op: "~", subject, field: `${BOOT_DISK} size`, from: sizeText ?? "(unknown)", to: `${desired.diskGiB}G`, reason: "grow the disk to the spec's size" });
  }
  const wrong = Object.entries(DISK_OPTIONS).filter(([k, v]) => disk.get(k) !== v);
  if (wrong.length > 0) {
    const file = disk.get("file") ?? "";
    diff.set[BOOT_DISK] = [file, ...DISK_OPTION_ITEMS, ...(sizeText === undefined ? [] : [`size=${sizeText}`])].join(",");
    diff.changes.push({ op: "~", subject, field: `${BOOT_DISK} options`, from: wrong.map(([k]) => `${k}=${disk.get(k) ?? "(unset)"}`).join(","),
      to: wrong.map(([k, v]) => `${k}=${v}`).join(","), reason: "differs from the spec; takes effect when the VM restarts" });
  }
}

/** A VM's config as GET …/pending shows it: the values it runs with, and those it gets at its next start. */
export interface PendingConfigs {
  running: VmConfig;
  /** What GET …/config answers: the config with the pending values taken in. */
  next: VmConfig;
}

export function pendingConfigs(items: readonly PendingItem[]): PendingConfigs {
  const running: VmConfig = {};
  const next: VmConfig = {};
  for (const item of items) {
    if (item.value !== undefined) running[item.key] = item.value;
    const after = item.delete ? undefined : (item.pending ?? item.value);
    if (after !== undefined) next[item.key] = after;
  }
  return { running, next };
}

/**
 * The difference between the spec and a VM read with GET …/pending: `set`/`remove` make the
 * next config right, and what only the running VM still lacks comes as "~" lines that wait for
 * a restart (never sent again).
 */
export function diffWithPending(desired: DesiredVm, { running: active, next }: PendingConfigs, subject: string, running: boolean): ConfigDiff {
  const diff = diffConfig(desired, next, subject, running);
  const sent = new Set(diff.changes.map((c) => c.field));
  const waiting = diffConfig(desired, active, subject, running).changes
    .filter((c) => c.op === "~" && c.field !== "tags" && !sent.has(c.field))
    .map((c): Change => ({ ...c, reason: PENDING_REASON, waitsForRestart: true }));
  diff.changes.push(...waiting);
  return diff;
}
