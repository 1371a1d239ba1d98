// VM config semantics of qemu-server: drive strings, tags, digest, generated values.
import { createHash, randomBytes, randomUUID } from "node:crypto";
import { splitList } from "./formats.ts";

export const DRIVE_KEY_RE = /^(?:(?:ide|sata|scsi|virtio)\d+|efidisk0|tpmstate0)$/;
export const NEW_DISK_RE = /^(?:([^/:\s]+):)?(\d+(?:\.\d+)?)$/;

export interface Drive {
  file: string;
  options: Record<string, string>;
}

export function parseDrive(value: string): Drive {
  const options: Record<string, string> = {};
  let file = "";
  for (const part of value.split(",")) {
    if (part === "") continue;
    const split = part.indexOf("=");
    const key = split < 0 ? undefined : part.slice(0, split);
    if (key === undefined || (!/^[a-z_-]+$/.test(key) && file === "")) {
      file = part;
    } else if (key === "file" || key === "volume") {
      file = part.slice(split + 1);
    } else {
      options[key] = part.slice(split + 1);
    }
  }
  return { file, options };
}

/** print_drive: the volume first, then the options sorted by key. */
export function printDrive(drive: Drive): string {
  const options = Object.keys(drive.options)
    .sort()
    .map((key) => `${key}=${drive.options[key]}`);
  return [drive.file, ...options].join(",");
}

export const isCloudinitVolume = (file: string): boolean => /(^|[:/])(vm-\d+-)?cloudinit(\.\w+)?$/.test(file);

export function isCdrom(drive: Drive): boolean {
  return drive.options.media === "cdrom" || drive.file === "cdrom" || isCloudinitVolume(drive.file);
}

/** Stored and returned form of a tag list: lower-cased, de-duplicated, sorted, `;`-joined. */
export function normalizeTags(value: string): string {
  return [...new Set(splitList(value).map((tag) => tag.toLowerCase()))].sort().join(";");
}

/** SHA-1 of the config file, its [PENDING] section included. */
export function configDigest(vm: { config: Record<string, string>; pending?: Record<string, string>; pendingDelete?: string[] }): string {
  const lines = (section: Record<string, string>) => Object.keys(section).sort().map((key) => `${key}: ${section[key]}\n`).join("");
  let text = lines(vm.config);
  if (vm.pending !== undefined || vm.pendingDelete !== undefined) {
    text += `\n[PENDING]\n${lines({ ...vm.pending, ...(vm.pendingDelete && { delete: vm.pendingDelete.join(",") }) })}`;
  }
  return createHash("sha1").update(text).digest("hex");
}

/** add_random_macs: a NIC without a MAC gets one with the Proxmox OUI. */
export function withMacAddress(value: string): string {
  const parts = value.split(",");
  const first = parts[0] ?? "";
  const keyed = parts.slice(1);
  if (/^[a-z0-9-]+=[0-9A-Fa-f:]{17}$/.test(first) || keyed.some((part) => part.startsWith("macaddr="))) return value;
  const model = first.startsWith("model=") ? first.slice("model=".length) : first;
  const mac = ["BC", "24", "11", ...[...randomBytes(3)].map((byte) => byte.toString(16).padStart(2, "0").toUpperCase())].join(":");
  return [`${model}=${mac}`, ...keyed].join(",");
}

export function generatedSmbios(): string {
  return `uuid=${randomUUID()}`;
}

export function generatedVmgenid(): string {
  return randomUUID();
}

/** meta: creation-qemu=…,ctime=… as written by new_meta_info_string. */
export function metaInfo(version: string): string {
  const qemu = Number(version.split(".")[0]) >= 9 ? "10.1.2" : "9.2.0";
  return `creation-qemu=${qemu},ctime=${Math.floor(Date.now() / 1000)}`;
}

/** get_default_bootdevices: first disk, first CD-ROM, first NIC. */
export function defaultBootOrder(config: Record<string, string>): string {
  const order = ["ide", "sata", "scsi", "virtio"].flatMap((bus) =>
    Object.keys(config)
      .filter((key) => new RegExp(`^${bus}\\d+$`).test(key))
      .sort((a, b) => Number(a.slice(bus.length)) - Number(b.slice(bus.length))),
  );
  const disk = order.find((key) => !isCdrom(parseDrive(config[key] ?? "")));
  const cdrom = order.find((key) => isCdrom(parseDrive(config[key] ?? "")));
  const net = Object.keys(config)
    .filter((key) => /^net\d+$/.test(key))
    .sort((a, b) => Number(a.slice(3)) - Number(b.slice(3)))[0];
  return `order=${[disk, cdrom, net].filter((key) => key !== undefined).join(";")}`;
}

/** The bytes of the `memory` option (MiB, default 512). */
export function memoryBytes(config: Record<string, string>): number {
  const memory = config.memory ?? "512";
  const current = /^(?:current=)?(\d+)/.exec(memory)?.[1] ?? "512";
  return Number(current) * 2 ** 20;
}

export function cpuCount(config: Record<string, string>): number {
  return Number(config.cores ?? "1") * Number(config.sockets ?? "1");
}

export function agentEnabled(config: Record<string, string>): boolean {
  const agent = config.agent;
  if (!agent) return false;
  const first = agent.split(",")[0] ?? "";
  const enabled = first.startsWith("enabled=") ? first.slice("enabled=".length) : first;
  return /^(1|on|yes|true)$/i.test(enabled);
}
