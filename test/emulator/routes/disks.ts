// Drive options of create and config updates: the synchronous checks (check_storage_access,
// check_drive_param) and the allocation of new disks (create_disks) under storage locks.
import { type Identity, requirePrivileges } from "../auth.ts";
import { handlerError, paramError } from "../errors.ts";
import { VOLUME_ID_RE } from "../formats.ts";
import type { VolumeRecord } from "../state.ts";
import {
  defaultImageFormat,
  enabledStorage,
  formatSize,
  imageVolume,
  isFileBased,
  nextDiskName,
  parseVolname,
  storageLockError,
  storageLockLog,
  volumePath,
} from "../storage-model.ts";
import type { TaskContext } from "../tasks.ts";
import { DRIVE_KEY_RE, type Drive, isCdrom, isCloudinitVolume, NEW_DISK_RE, parseDrive, printDrive } from "../vm-config.ts";
import type { EmulatorCore } from "./context.ts";
import { checkVolumeAccess } from "./volume-access.ts";

const CLOUDINIT_SIZE = 4 * 2 ** 20;

export const driveKeys = (settings: Record<string, string>): string[] =>
  Object.keys(settings)
    .filter((key) => DRIVE_KEY_RE.test(key))
    .sort();

const ROOT_ONLY_PATHS = "Only root can pass arbitrary filesystem paths.";

function volumeType(core: EmulatorCore, volid: string): string {
  const [, storeid = "", volname = ""] = VOLUME_ID_RE.exec(volid) ?? [];
  if (!core.state.storage(storeid)) throw handlerError(`storage '${storeid}' does not exist`);
  const parsed = parseVolname(volname);
  if (!parsed) throw handlerError(`unable to parse volume name '${volname}'`);
  return parsed.content;
}

/** Synchronous checks on every drive option of VM `vmid` ($check_storage_access), before any config is written. */
export function checkDrives(core: EmulatorCore, identity: Identity, vmid: number, settings: Record<string, string>, defaultStorage?: string): void {
  for (const key of driveKeys(settings)) {
    const drive = parseDrive(settings[key] ?? "");
    const newDisk = NEW_DISK_RE.exec(drive.file);
    if (drive.file === "none" || isCloudinitVolume(drive.file)) {
      // nothing to check
    } else if (isCdrom(drive) && drive.file === "cdrom") {
      requirePrivileges(identity, "/", ["Sys.Console"]);
    } else if (!isCdrom(drive) && newDisk) {
      const storeid = newDisk[1] ?? defaultStorage;
      if (!storeid) throw handlerError("no storage ID specified (and no default storage)");
      requirePrivileges(identity, `/storage/${storeid}`, ["Datastore.AllocateSpace"]);
      const storage = core.state.storage(storeid);
      if (!storage) throw handlerError(`storage '${storeid}' does not exist`);
      if (!storage.content.includes("images")) throw paramError({ storage: `storage '${storeid}' does not support vm images` });
    } else if (drive.file.startsWith("/")) {
      throw handlerError(ROOT_ONLY_PATHS);
    } else {
      const type = volumeType(core, drive.file);
      // An existing volume (the seed ISO of a CD-ROM): read access to its storage.
      checkVolumeAccess(identity, drive.file, vmid);
      if (type !== "images" && type !== "iso") throw paramError({ [key]: "content type needs to be 'images' or 'iso'" });
    }
    const source = drive.options["import-from"];
    if (source !== undefined) {
      if (source.startsWith("/")) throw handlerError(ROOT_ONLY_PATHS);
      const type = volumeType(core, source);
      if (type !== "images" && type !== "import") {
        throw paramError({ [key]: `${source} has wrong type '${type}' - needs to be 'images' or 'import'` });
      }
      // Another VM's disk is cloned (VM.Clone on it); anything else needs read access to its storage.
      const owner = parseVolname(source.split(":")[1] ?? "")?.vmid;
      if (owner !== undefined) requirePrivileges(identity, `/vms/${owner}`, ["VM.Clone"]);
      else checkVolumeAccess(identity, source, vmid);
    }
  }
  for (const key of driveKeys(settings)) {
    const drive = parseDrive(settings[key] ?? "");
    if (drive.options["import-from"] !== undefined) {
      const newDisk = NEW_DISK_RE.exec(drive.file);
      if (!newDisk || Number(newDisk[2]) !== 0) {
        throw paramError({ [key]: "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>" });
      }
    }
    if (!NEW_DISK_RE.test(drive.file) && VOLUME_ID_RE.test(drive.file) && !isCloudinitVolume(drive.file)) {
      if (volumeType(core, drive.file) === "iso" && drive.options.media !== "cdrom") {
        throw paramError({ [key]: "explicit 'media=cdrom' is required for iso images" });
      }
    }
  }
}

export interface DiskAllocation {
  node: string;
  vmid: number;
  /** Options as given by the client. */
  settings: Record<string, string>;
  /** The config the drives are added to (to find an existing cloud-init drive). */
  config: Record<string, string>;
  defaultStorage?: string;
  /** The worker, when allocation runs in a task (progress and injected failures). */
  task?: TaskContext;
}

export interface CreatedDisks {
  /** Drive strings to store in the config. */
  drives: Record<string, string>;
  /** Volumes allocated on the way; the caller frees them if it fails later. */
  volumes: VolumeRecord[];
}

/**
 * create_disks: allocates new disks (plain, imported, cloud-init) and resolves existing volumes.
 * Volumes created before an error are freed again.
 */
export async function createDisks(core: EmulatorCore, allocation: DiskAllocation): Promise<CreatedDisks> {
  const volumes: VolumeRecord[] = [];
  const drives: Record<string, string> = {};
  const keys = driveKeys(allocation.settings);
  try {
    for (const key of keys) {
      const drive = parseDrive(allocation.settings[key] ?? "");
      drives[key] = printDrive(await resolveDrive(core, allocation, key, drive, drives, volumes, 1 / Math.max(keys.length, 1)));
    }
  } catch (error) {
    freeVolumes(core, volumes);
    throw error;
  }
  return { drives, volumes };
}

export function freeVolumes(core: EmulatorCore, volumes: VolumeRecord[]): void {
  for (const volume of volumes) core.state.removeVolume(volume);
}

async function resolveDrive(
  core: EmulatorCore,
  allocation: DiskAllocation,
  key: string,
  drive: Drive,
  resolved: Record<string, string>,
  created: VolumeRecord[],
  share: number,
): Promise<Drive> {
  const { node, vmid, task } = allocation;
  const newDisk = NEW_DISK_RE.exec(drive.file);
  if (drive.file === "none" || drive.file === "cdrom" || drive.file === "") {
    delete drive.options.size;
    return drive;
  }
  if (/^(?:[^:]+:)?cloudinit$/.test(drive.file)) {
    const storeid = drive.file.includes(":") ? (drive.file.split(":")[0] ?? "") : allocation.defaultStorage;
    if (!storeid) throw new Error("no storage ID specified (and no default storage)");
    const attached = [allocation.config, resolved].flatMap((config) =>
      Object.keys(config).filter((other) => other !== key && DRIVE_KEY_RE.test(other) && isCloudinitVolume(parseDrive(config[other] ?? "").file)),
    );
    if (attached[0]) throw new Error(`${key} - cloud-init drive is already attached at '${attached[0]}'`);
    const storage = enabledStorage(core.state, storeid, node);
    const format = isFileBased(storage) ? (drive.options.format ?? "qcow2") : (drive.options.format ?? "raw");
    const volume = await allocate(core, allocation, storage.id, `vm-${vmid}-cloudinit`, format, CLOUDINIT_SIZE, created);
    task?.log(`${key}: successfully created disk '${volume.volid},media=cdrom'`);
    const options: Record<string, string> = { ...drive.options, media: "cdrom" };
    delete options.format;
    return { file: volume.volid, options };
  }
  if (newDisk && !isCdrom(drive)) {
    const storeid = newDisk[1] ?? allocation.defaultStorage;
    if (!storeid) throw new Error("no storage ID specified (and no default storage)");
    const storage = enabledStorage(core.state, storeid, node);
    const format = drive.options.format ?? defaultImageFormat(storage);
    if (!isFileBased(storage) && format !== "raw") throw new Error(`unsupported format '${format}'`);
    const source = drive.options["import-from"];
    let size = Number(newDisk[2]) * 2 ** 30;
    if (source !== undefined) {
      const image = core.state.volume(node, source);
      const fail = (reason: string): Error => new Error(`cannot import from '${source}' - ${reason}`);
      if (!image) throw fail(`could not get size of ${source}`);
      if (isCloudinitVolume(source)) throw fail("cannot import from cloudinit disk");
      size = image.virtualSize ?? image.size;
      task?.log(`importing disk '${source}' to VM ${vmid} ...`);
      let volume: VolumeRecord;
      try {
        volume = await allocate(core, allocation, storage.id, nextDiskName(core.state, node, storage, vmid), format, size, created);
      } catch (error) {
        throw fail((error as Error).message);
      }
      task?.log(`transferred 0.0 B of ${formatSize(size)} (0.00%)`);
      await task?.step(share * 0.7);
      task?.log(`transferred ${formatSize(size)} of ${formatSize(size)} (100.00%)`);
      task?.log(`Successfully imported disk as '${key}:${volume.volid}'`);
      return finishedDisk(drive, volume);
    }
    const volume = await allocate(core, allocation, storage.id, nextDiskName(core.state, node, storage, vmid), format, size, created);
    task?.log(`${key}: successfully created disk '${printDrive(finishedDisk({ file: drive.file, options: { ...drive.options } }, volume))}'`);
    return finishedDisk(drive, volume);
  }
  if (drive.file.startsWith("/")) throw new Error(ROOT_ONLY_PATHS);
  const volume = core.state.volume(node, drive.file);
  if (!volume) throw new Error(`volume ${drive.file} does not exist`);
  return { file: drive.file, options: { ...drive.options, size: formatSize(volume.size) } };
}

function finishedDisk(drive: Drive, volume: VolumeRecord): Drive {
  const options: Record<string, string> = { ...drive.options, size: formatSize(volume.size) };
  delete options["import-from"];
  delete options.format;
  return { file: volume.volid, options };
}

/** vdisk_alloc: takes the storage's allocation lock while the volume is created. */
async function allocate(
  core: EmulatorCore,
  allocation: DiskAllocation,
  storeid: string,
  name: string,
  format: string,
  size: number,
  created: VolumeRecord[],
): Promise<VolumeRecord> {
  const storage = enabledStorage(core.state, storeid, allocation.node);
  const lockKey = `storage:${storage.shared ? "" : allocation.node}:${storage.id}`;
  const forceTimeout = allocation.task?.takeLockFault() === true;
  if (forceTimeout) for (const line of storageLockLog(storage)) allocation.task?.log(line);
  return core.locks.withLock({ key: lockKey, timeoutMs: 10_000, timeoutMessage: storageLockError(storage), forceTimeout }, async () => {
    await Bun.sleep(core.allocationMs);
    const volume = imageVolume(allocation.node, storage, allocation.vmid, name, format, size);
    if (core.state.volume(allocation.node, volume.volid)) {
      throw new Error(`volume '${volume.volid}' already exists (${volumePath(storage, volume.volid.split(":")[1] ?? "")})`);
    }
    core.state.putVolume(volume);
    created.push(volume);
    return volume;
  });
}
