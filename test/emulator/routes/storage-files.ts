// POST …/storage/{storage}/download-url and …/upload (pve-storage API2::Storage::Status).
// The emulator cannot fetch URLs: downloads are served from the upstream registry the test fills
// with publish(url, {size, sha256}).
import { createHash } from "node:crypto";
import { handlerError } from "../errors.ts";
import type { ChecksumAlgorithm, StorageSpec, UpstreamFile } from "../options.ts";
import type { VolumeRecord } from "../state.ts";
import {
  checkUploadFilename,
  checksumsOf,
  contentPath,
  enabledStorage,
  isFileBased,
  normalizeFilename,
  parseVolname,
} from "../storage-model.ts";
import { decodeUpid } from "../tasks.ts";
import { type EmulatorCore, type RouteContext, atLeast, nodeName, requiredText, startTask, text } from "./context.ts";

function importFormats(core: EmulatorCore): string[] {
  if (atLeast(core.release, 8, 4)) return ["ova", "qcow2", "raw", "vmdk"];
  return atLeast(core.release, 8, 3) ? ["ova"] : [];
}

interface FileTarget {
  node: string;
  storage: StorageSpec;
  content: string;
  filename: string;
  volid: string;
  path: string;
}

function target(context: RouteContext, storage: StorageSpec, filename: string): FileTarget {
  const content = requiredText(context, "content");
  checkUploadFilename(content, filename, importFormats(context.core));
  return {
    node: nodeName(context),
    storage,
    content,
    filename,
    volid: `${storage.id}:${content}/${filename}`,
    path: contentPath(storage, content, filename),
  };
}

function fileVolume(file: FileTarget, size: number, checksums: VolumeRecord["checksums"], virtualSize?: number): VolumeRecord {
  const volume: VolumeRecord = {
    volid: file.volid,
    storage: file.storage.id,
    node: file.storage.shared ? null : file.node,
    content: file.content,
    format: parseVolname(`${file.content}/${file.filename}`)?.format ?? "raw",
    size,
    ctime: Math.floor(Date.now() / 1000),
    checksums,
  };
  if (virtualSize !== undefined) volume.virtualSize = virtualSize;
  return volume;
}

function checksumOf(file: UpstreamFile, algorithm: ChecksumAlgorithm): string | undefined {
  return file.checksums?.[algorithm] ?? (algorithm === "sha256" ? file.sha256 : undefined);
}

export function downloadUrl(context: RouteContext): string {
  const { core } = context;
  const node = nodeName(context);
  const storage = enabledStorage(core.state, requiredText(context, "storage"), node);
  if (!isFileBased(storage)) throw handlerError(`can't upload to storage type '${storage.type}', not a file based storage!`);
  const content = requiredText(context, "content");
  if (!storage.content.includes(content)) throw handlerError(`storage '${storage.id}' is not configured for content-type '${content}'`);
  const file = target(context, storage, normalizeFilename(requiredText(context, "filename")));
  const url = requiredText(context, "url");
  const checksum = text(context, "checksum");
  const algorithm = text(context, "checksum-algorithm") as ChecksumAlgorithm | undefined;
  const compression = text(context, "compression");

  return startTask(context, node, "download", file.filename, async (task) => {
    if (compression !== undefined && content !== "iso") throw new Error(`decompression not supported for ${content}`);
    task.log(`downloading ${url} to ${file.path}`);
    const existing = core.state.volume(node, file.volid);
    if (existing) {
      if (checksum === undefined || algorithm === undefined) throw new Error(`refusing to override existing file '${file.path}'`);
      const got = existing.checksums?.[algorithm] ?? "";
      if (got.toLowerCase() === checksum.toLowerCase()) {
        task.log("calculating checksum of existing file...OK, got correct file already, no need to download");
        return;
      }
      task.log("calculating checksum of existing file...");
      throw new Error(`checksum mismatch: got '${got}' != expect '${checksum}', aborting`);
    }
    const upstream = core.upstream.get(url);
    const temporary = `${file.path}.tmp_dwnl.${decodeUpid(task.upid)?.pid ?? 0}`;
    task.log(`--2000-01-01 00:00:00--  ${url}`);
    await task.step(0.8);
    if (!upstream) {
      task.log("ERROR 404: Not Found.");
      throw new Error(`download failed: command '/usr/bin/wget --progress=dot:giga -O ${temporary} ${url}' failed: exit code 8`);
    }
    if (checksum !== undefined && algorithm !== undefined) {
      const got = checksumOf(upstream, algorithm) ?? "";
      if (got.toLowerCase() !== checksum.toLowerCase()) {
        task.log("calculating checksum...");
        throw new Error(`checksum mismatch: got '${got}' != expect '${checksum}'`);
      }
      task.log("calculating checksum...OK, checksum verified");
    }
    await task.step(0.2);
    const checksums = { ...upstream.checksums, ...(upstream.sha256 ? { sha256: upstream.sha256 } : {}) };
    core.state.putVolume(fileVolume(file, upstream.size, checksums, upstream.virtualSize));
    task.log(`download of '${url}' to '${file.path}' finished`);
  });
}

/** Virtual size from a qcow2 header (magic QFI\xfb, size at offset 24); undefined for other data. */
function qcow2VirtualSize(data: Buffer): number | undefined {
  if (data.length < 32 || data.readUInt32BE(0) !== 0x514649fb) return undefined;
  return Number(data.readBigUInt64BE(24));
}

export function upload(context: RouteContext): string {
  const { core } = context;
  const node = nodeName(context);
  const received = context.upload;
  if (!received) throw handlerError("missing temporary file name");
  const storage = enabledStorage(core.state, requiredText(context, "storage"), node);
  if (!isFileBased(storage)) throw handlerError(`can't upload to storage type '${storage.type}'`);
  const file = target(context, storage, normalizeFilename(requiredText(context, "filename")));
  if (!storage.content.includes(file.content)) throw handlerError(`storage '${storage.id}' does not support '${file.content}' content`);
  const checksum = text(context, "checksum");
  const algorithm = text(context, "checksum-algorithm") as ChecksumAlgorithm | undefined;
  const checksums = checksumsOf(received.data);
  const temporary = `/var/tmp/pveupload-${createHash("md5").update(`${Date.now()}${Math.random()}`).digest("hex")}`;

  return startTask(context, node, "imgcopy", "", async (task) => {
    task.log(`starting file import from: ${temporary}`);
    if (checksum !== undefined && algorithm !== undefined) {
      if (checksums[algorithm].toLowerCase() !== checksum.toLowerCase()) {
        task.log("calculating checksum...");
        throw new Error(`checksum mismatch: got '${checksums[algorithm]}' != expect '${checksum}'`);
      }
      task.log("calculating checksum...OK, checksum verified");
    }
    task.log(`target node: ${node}`);
    task.log(`target file: ${file.path}`);
    task.log(`file size is: ${received.data.length}`);
    task.log(`command: cp -- ${temporary} ${file.path}`);
    await task.step(1);
    const format = parseVolname(`${file.content}/${file.filename}`)?.format;
    const virtualSize = format === "qcow2" ? qcow2VirtualSize(received.data) : undefined;
    core.state.putVolume(fileVolume(file, received.data.length, checksums, virtualSize));
    task.log("finished file import successfully");
  });
}
