// Storage reads and volume deletion: …/storage, …/storage/{storage}/status, …/content[/{volume}].
import { hasPrivilege, requirePrivileges } from "../auth.ts";
import { handlerError, paramError } from "../errors.ts";
import type { StorageSpec } from "../options.ts";
import type { VolumeRecord } from "../state.ts";
import { enabledStorage, isFileBased, storageAvailable, storageTotal, usedBytes, volumePath } from "../storage-model.ts";
import { checkVolumeAccess, mayAccessVolume } from "./volume-access.ts";
import { type RouteContext, flag, integer, nodeName, requiredText, startTask, text, waitBriefly } from "./context.ts";

function storageSummary(context: RouteContext, storage: StorageSpec): Record<string, unknown> {
  const node = nodeName(context);
  const total = storageTotal(storage);
  const used = usedBytes(context.core.state, node, storage);
  const summary: Record<string, unknown> = {
    storage: storage.id,
    type: storage.type,
    content: [...storage.content].sort().join(","),
    active: storage.disabled ? 0 : 1,
    enabled: storage.disabled ? 0 : 1,
    shared: storage.shared ? 1 : 0,
  };
  if (!storage.disabled) Object.assign(summary, { total, used, avail: total - used, used_fraction: used / total });
  return summary;
}

export function listStorages(context: RouteContext): Record<string, unknown>[] {
  const node = nodeName(context);
  const content = text(context, "content");
  const only = text(context, "storage");
  return context.core.state.storages
    .filter((storage) => storageAvailable(storage, node))
    .filter((storage) => {
      const path = `/storage/${storage.id}`;
      return hasPrivilege(context.identity, path, "Datastore.Audit") || hasPrivilege(context.identity, path, "Datastore.AllocateSpace");
    })
    .filter((storage) => content === undefined || content.split(",").some((type) => storage.content.includes(type)))
    .filter((storage) => !flag(context, "enabled") || !storage.disabled)
    .filter((storage) => only === undefined || storage.id === only)
    .map((storage) => storageSummary(context, storage));
}

export function storageStatus(context: RouteContext): Record<string, unknown> {
  const storage = context.core.state.storage(requiredText(context, "storage"));
  if (!storage || !storageAvailable(storage, nodeName(context))) throw paramError({ storage: "No such storage." });
  const { storage: _id, ...status } = storageSummary(context, storage);
  return status;
}

function contentItem(volume: VolumeRecord): Record<string, unknown> {
  const item: Record<string, unknown> = { volid: volume.volid, content: volume.content, format: volume.format, size: volume.size, ctime: volume.ctime };
  if (volume.vmid !== undefined) Object.assign(item, { vmid: volume.vmid, used: volume.size });
  return item;
}

export function listContent(context: RouteContext): Record<string, unknown>[] {
  const node = nodeName(context);
  const storage = enabledStorage(context.core.state, requiredText(context, "storage"), node);
  const content = text(context, "content");
  const owner = integer(context, "vmid");
  return context.core.state
    .volumesOn(node, storage)
    .filter((volume) => content === undefined || volume.content === content)
    .filter((volume) => owner === undefined || volume.vmid === owner)
    .filter((volume) => mayAccessVolume(context.identity, volume.volid))
    .sort((a, b) => a.volid.localeCompare(b.volid))
    .map(contentItem);
}

/** real_volume_id: `{volume}` may be a full volume id or a name on `{storage}`. */
function volumeId(context: RouteContext): { storage: StorageSpec; volid: string } {
  const volume = requiredText(context, "volume");
  const storeid = text(context, "storage") ?? volume.split(":")[0] ?? "";
  const volid = volume.includes(":") ? volume : `${storeid}:${volume}`;
  const storage = enabledStorage(context.core.state, volid.split(":")[0] ?? "", nodeName(context));
  return { storage, volid };
}

/**
 * GET …/content/{volume}: volume_size_info, i.e. `qemu-img info` — `size` is the virtual size
 * of a disk image (what a VM disk imported from it gets), `used` the bytes of the file. The
 * content listing, by contrast, reports the file's size (stat) for import and iso volumes.
 */
export function volumeAttributes(context: RouteContext): Record<string, unknown> {
  const { storage, volid } = volumeId(context);
  checkVolumeAccess(context.identity, volid);
  const volume = context.core.state.volume(nodeName(context), volid);
  if (!volume) throw handlerError(`volume '${volid}' does not exist`);
  return { path: volumePath(storage, volid.split(":")[1] ?? ""), size: volume.virtualSize ?? volume.size, used: volume.size, format: volume.format };
}

export async function deleteVolume(context: RouteContext): Promise<string | null> {
  const { core } = context;
  const node = nodeName(context);
  const { storage, volid } = volumeId(context);
  requirePrivileges(context.identity, `/storage/${storage.id}`, ["Datastore.Allocate"]);
  const owner = core.state.volume(node, volid)?.vmid;
  const upid = startTask(context, node, "imgdel", owner === undefined ? "none" : String(owner), async (task) => {
    await task.step(1);
    const volume = core.state.volume(node, volid);
    if (!volume) {
      throw new Error(isFileBased(storage) ? `unable to remove '${volumePath(storage, volid.split(":")[1] ?? "")}' - No such file or directory` : `volume '${volid}' does not exist`);
    }
    core.state.removeVolume(volume);
    task.log(`Removed volume '${volid}'`);
  });
  const delay = integer(context, "delay");
  const finished = delay === undefined ? undefined : await waitBriefly(core, node, upid, delay);
  if (!finished) return upid;
  if (finished.exitstatus === "OK") return null;
  throw handlerError(finished.exitstatus ?? "");
}
