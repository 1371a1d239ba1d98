// Storage semantics: which storage is usable where, volume names and paths, file name rules of
// download-url/upload (pve-storage), disk allocation.
import { createHash } from "node:crypto";
import { handlerError, paramError } from "./errors.ts";
import { CHECKSUM_ALGORITHMS, type ChecksumAlgorithm, type StorageSpec } from "./options.ts";
import type { EmulatorState, VolumeRecord } from "./state.ts";

export const isFileBased = (storage: StorageSpec): boolean => storage.path !== undefined;

export const storageAvailable = (storage: StorageSpec, node: string): boolean => !storage.nodes || storage.nodes.includes(node);

export const storageTotal = (storage: StorageSpec): number => storage.totalBytes ?? 100 * 2 ** 30;

/** PVE::Storage::storage_check_enabled (+ storage_config): exists, available on the node, enabled. */
export function enabledStorage(state: EmulatorState, id: string, node: string): StorageSpec {
  const storage = state.storage(id);
  if (!storage) throw handlerError(`storage '${id}' does not exist`);
  if (!storageAvailable(storage, node)) throw handlerError(`storage '${id}' is not available on node '${node}'`);
  if (storage.disabled) throw handlerError(`storage '${id}' is disabled`);
  return storage;
}

export function defaultImageFormat(storage: StorageSpec): string {
  return isFileBased(storage) ? "qcow2" : "raw";
}

export interface ParsedVolume {
  content: string;
  name: string;
  format: string;
  vmid?: number;
}

/** PVE::Storage::parse_volname for the volume layouts the emulator creates. */
export function parseVolname(volname: string): ParsedVolume | undefined {
  // Plugin::parse_volname: an ISO's name must end in .iso or .img ($ISO_EXT_RE_0, any case).
  if (/^iso\//.test(volname) && !/^iso\/[^/]+\.(?:iso|img)$/i.test(volname)) return undefined;
  const typed = /^(iso|vztmpl|import|snippets|backup)\/([^/]+)$/.exec(volname);
  if (typed) {
    const [, content = "", name = ""] = typed;
    return { content, name, format: fileFormat(content, name) };
  }
  const image = /^(?:(\d+)\/)?((?:vm|base)-(\d+)-[^/]+?)(?:\.(raw|qcow2|vmdk))?$/.exec(volname);
  if (image) {
    const [, , name = "", vmid = "", format] = image;
    return { content: "images", name, vmid: Number(vmid), format: format ?? "raw" };
  }
  return undefined;
}

function fileFormat(content: string, name: string): string {
  if (content === "iso") return "iso";
  if (content === "snippets") return "snippet";
  if (content === "vztmpl") return /\.tar\.zst$/.test(name) ? "tzst" : /\.tar\.xz$/.test(name) ? "txz" : "tgz";
  if (content === "backup") return /\.vma/.test(name) ? "vma" : "tar";
  return /\.([a-z0-9]+)$/.exec(name)?.[1] ?? "raw";
}

const CONTENT_DIRECTORIES: Record<string, string> = {
  iso: "template/iso",
  vztmpl: "template/cache",
  import: "import",
  snippets: "snippets",
  backup: "dump",
};

/** Filesystem path of a file in a directory storage (as quoted in task logs and errors). */
export function contentPath(storage: StorageSpec, content: string, name: string): string {
  const directory = content === "images" ? "images" : (CONTENT_DIRECTORIES[content] ?? content);
  return `${storage.path}/${directory}/${name}`;
}

export function volumePath(storage: StorageSpec, volname: string): string {
  if (!isFileBased(storage)) return `/dev/pve/${volname}`;
  const parsed = parseVolname(volname);
  if (parsed?.content === "images") return `${storage.path}/images/${volname}`;
  return contentPath(storage, parsed?.content ?? "", parsed?.name ?? volname);
}

/** PVE::Storage::normalize_content_filename. */
export function normalizeFilename(filename: string): string {
  return filename
    .replace(/\n$/, "")
    .replace(/^.*[/\\]/, "")
    .replace(/[^a-zA-Z0-9_.-]/g, "_");
}

/**
 * Extension rules of download-url and upload per content type; `importFormats` depends on the
 * release (only .ova before 8.4). Returns the image format for import content.
 */
export function checkUploadFilename(content: string, filename: string, importFormats: string[]): string | undefined {
  if (content === "iso") {
    if (!/[^/]+\.(?:iso|img)$/i.test(filename)) throw paramError({ filename: "wrong file extension" });
    return undefined;
  }
  if (content === "vztmpl") {
    if (!/[^/]+\.tar(?:\.(?:gz|xz|zst|bz2))?$/i.test(filename)) throw paramError({ filename: "wrong file extension" });
    return undefined;
  }
  if (content === "import") {
    if (importFormats.length === 0) throw paramError({ content: "upload content-type 'import' is not allowed" });
    const match = new RegExp(`[a-zA-Z0-9\\-.+=_]+\\.(${importFormats.join("|")})$`).exec(filename);
    if (!match) throw paramError({ filename: "invalid filename or wrong extension" });
    return match[1];
  }
  throw paramError({ content: `upload content-type '${content}' is not allowed` });
}

/** Next free `vm-<vmid>-disk-N` on a storage of a node. */
export function nextDiskName(state: EmulatorState, node: string, storage: StorageSpec, vmid: number): string {
  const taken = new Set(state.volumesOn(node, storage).map((volume) => parseVolname(volume.volid.split(":")[1] ?? "")?.name));
  for (let index = 0; ; index++) {
    const name = `vm-${vmid}-disk-${index}`;
    if (!taken.has(name)) return name;
  }
}

/** Creates the volume record of a newly allocated image. */
export function imageVolume(node: string, storage: StorageSpec, vmid: number, name: string, format: string, size: number): VolumeRecord {
  const volname = isFileBased(storage) ? `${vmid}/${name}.${format}` : name;
  return {
    volid: `${storage.id}:${volname}`,
    storage: storage.id,
    node: storage.shared ? null : node,
    content: "images",
    format,
    size,
    ctime: Math.floor(Date.now() / 1000),
    vmid,
  };
}

export function usedBytes(state: EmulatorState, node: string, storage: StorageSpec): number {
  return state.volumesOn(node, storage).reduce((sum, volume) => sum + volume.size, 0);
}

/** What pve-common's lock_file_full logs when the flock is not free at once. */
export const FLOCK_WAIT = "trying to acquire lock...";

/** What a worker logs while it waits for a storage's lock: flock once, the cfs lock once a second (10 s). */
export function storageLockLog(storage: StorageSpec): string[] {
  return storage.shared ? Array.from({ length: 9 }, () => `trying to acquire cfs lock 'storage-${storage.id}' ...`) : [FLOCK_WAIT];
}

/** Lock file guarding allocations on a storage (local storages) and its timeout text. */
export function storageLockError(storage: StorageSpec): string {
  return storage.shared
    ? `cfs-lock 'storage-${storage.id}' error: got lock request timeout`
    : `can't lock file '/var/lock/pve-manager/pve-storage-${storage.id}' - got timeout`;
}

/** PVE::JSONSchema::format_size. */
export function formatSize(bytes: number): string {
  const units = ["", "K", "M", "G", "T"];
  let value = Math.floor(bytes);
  let unit = 0;
  while (unit < units.length - 1 && value % 1024 === 0 && value > 0) {
    value /= 1024;
    unit++;
  }
  return `${value}${units[unit]}`;
}

/** PVE::JSONSchema::parse_size. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)([KMGT])?$/.exec(text);
  if (!match) return undefined;
  const factor = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[match[2] ?? ""] ?? 1;
  return Math.floor(Number(match[1]) * factor);
}

export function checksumsOf(data: Uint8Array): Record<ChecksumAlgorithm, string> {
  return Object.fromEntries(CHECKSUM_ALGORITHMS.map((name) => [name, createHash(name).update(data).digest("hex")])) as Record<
    ChecksumAlgorithm,
    string
  >;
}

/** A file put on a storage behind the API's back (e.g. snippets copied over SSH). */
export function placeFile(state: EmulatorState, node: string, volid: string, data: string | Uint8Array): VolumeRecord {
  const [storeid = "", volname = ""] = volid.split(/:(.*)/s);
  const storage = state.storage(storeid);
  const parsed = parseVolname(volname);
  if (!storage || !parsed) throw new Error(`cannot place '${volid}': unknown storage or volume name`);
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const volume: VolumeRecord = {
    volid,
    storage: storeid,
    node: storage.shared ? null : node,
    content: parsed.content,
    format: parsed.format,
    size: bytes.length,
    ctime: Math.floor(Date.now() / 1000),
    checksums: checksumsOf(bytes),
  };
  if (parsed.vmid !== undefined) volume.vmid = parsed.vmid;
  state.putVolume(volume);
  return volume;
}
