// GET/PUT/POST …/qemu/{vmid}/config and PUT …/resize.
import { handlerError, paramError } from "../errors.ts";
import { VOLUME_ID_RE, splitList } from "../formats.ts";
import { type Identity, requirePrivileges } from "../auth.ts";
import { applyPending, configWithPending, holdBackPending } from "../pending.ts";
import type { LockRequest } from "../locks.ts";
import type { EmulatorState, VmRecord } from "../state.ts";
import { formatSize, parseVolname } from "../storage-model.ts";
import { assertTagPermissions } from "../tag-access.ts";
import type { TaskContext } from "../tasks.ts";
import { DRIVE_KEY_RE, configDigest, isCdrom, isCloudinitVolume, parseDrive, printDrive } from "../vm-config.ts";
import { checkDrives, createDisks, driveKeys, freeVolumes } from "./disks.ts";
import {
  type EmulatorCore,
  type RouteContext,
  atLeast,
  checkLock,
  configPath,
  flag,
  integer,
  nodeName,
  refuseSkiplock,
  requiredText,
  startTask,
  text,
  vmid,
  vmLock,
  vmOnNode,
  waitBriefly,
} from "./context.ts";
import { storedSettings } from "./qemu-create.ts";
import { checkBridgeAccess, checkOptionPermissions, checkSshKeys } from "./vm-permissions.ts";

// Options PVE answers as JSON numbers when the schema has no type for them.
const NUMERIC_WITHOUT_SCHEMA = new Set(["cores", "sockets", "balloon", "onboot", "cpuunits", "vcpus", "protection", "template", "ciupgrade", "numa", "acpi", "kvm", "tablet"]);

function typedValue(core: EmulatorCore, key: string, value: string): unknown {
  const indexed = key.replace(/\d+$/, "[n]");
  const schema = core.schema?.parameter("POST", "/nodes/{node}/qemu", key) ?? core.schema?.parameter("POST", "/nodes/{node}/qemu", indexed);
  const numeric = schema ? ["integer", "number", "boolean"].includes(schema.type ?? "") : NUMERIC_WITHOUT_SCHEMA.has(key);
  return numeric && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
}

/**
 * GET …/config: load_current_config — pending values taken in, unless `current=1` asks for
 * the values the VM runs with. The digest is the whole file's, [PENDING] section included.
 */
export function readConfig(context: RouteContext): Record<string, unknown> {
  const vm = vmOnNode(context.core, nodeName(context), vmid(context));
  const config = flag(context, "current") ? vm.config : configWithPending(vm);
  const result: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) {
    result[key] = key === "cipassword" ? "**********" : typedValue(context.core, key, value);
  }
  result.digest = configDigest(vm);
  return result;
}

/** GET …/pending: config_with_pending_array — per option its current value, its pending value, and `delete` (1). */
export function readPending(context: RouteContext): Record<string, unknown>[] {
  const vm = vmOnNode(context.core, nodeName(context), vmid(context));
  const shown = (key: string, value: string): unknown => (key === "cipassword" ? "**********" : typedValue(context.core, key, value));
  const pending = { ...vm.pending };
  const deletes = new Set(vm.pendingDelete);
  const items: Record<string, unknown>[] = [];
  for (const [key, value] of Object.entries({ ...vm.config, digest: configDigest(vm) })) {
    const item: Record<string, unknown> = { key, value: shown(key, value) };
    if (pending[key] !== undefined) item.pending = shown(key, pending[key]);
    if (deletes.delete(key)) item.delete = 1;
    delete pending[key];
    items.push(item);
  }
  for (const [key, value] of Object.entries(pending)) items.push({ key, pending: shown(key, value) });
  for (const key of deletes) items.push({ key, delete: 1 });
  return items;
}

// Parameters of the update call itself.
const UPDATE_CALL_PARAMS = ["node", "vmid", "delete", "digest", "revert", "skiplock", "force", "background_delay"];

interface ConfigUpdate {
  node: string;
  vmid: number;
  identity: Identity;
  settings: Record<string, string>;
  /** `tags` as sent (assert_tag_permissions compares the sent value, not the normalised one). */
  sentTags?: string;
  deletes: string[];
  digest?: string;
  force: boolean;
  lock: LockRequest;
}

/** The synchronous part of update_vm_api: parameter, permission and storage checks. */
function prepareUpdate(context: RouteContext): ConfigUpdate {
  const { core, identity } = context;
  const id = vmid(context);
  refuseSkiplock(context);
  const settings = storedSettings(context.params, UPDATE_CALL_PARAMS);
  const deletes = splitList(text(context, "delete") ?? "");
  for (const option of deletes) {
    if (settings[option] !== undefined) {
      throw paramError({ delete: `you can't use '-${option}' and -delete ${option}' at the same time` });
    }
  }
  if (Object.keys(settings).length === 0 && deletes.length === 0 && text(context, "revert") === undefined) {
    throw handlerError("no options specified");
  }
  checkSshKeys(settings.sshkeys);
  checkOptionPermissions(identity, id, [...Object.keys(settings), ...deletes], settings);
  checkDrives(core, identity, id, settings);
  checkBridgeAccess(identity, settings);
  return {
    node: nodeName(context),
    vmid: id,
    identity,
    settings,
    sentTags: text(context, "tags"),
    deletes,
    digest: text(context, "digest"),
    force: flag(context, "force"),
    lock: vmLock(context, id, 10_000),
  };
}

function reload(state: EmulatorState, node: string, id: number): VmRecord {
  const vm = state.vm(id);
  if (!vm || vm.node !== node) throw handlerError(`Configuration file '${configPath(node, id)}' does not exist`);
  return vm;
}

function addUnused(config: Record<string, string>, volid: string): void {
  if (Object.entries(config).some(([key, value]) => /^unused\d+$/.test(key) && value === volid)) return;
  let index = 0;
  while (config[`unused${index}`] !== undefined) index++;
  config[`unused${index}`] = volid;
}

function freeVolume(state: EmulatorState, node: string, volid: string): void {
  const volume = state.volume(node, volid);
  if (volume) state.removeVolume(volume);
}

/** Removes an option; a disk's volume becomes unusedN (freed with `force`, cloud-init always). */
function deleteOption(state: EmulatorState, node: string, config: Record<string, string>, option: string, force: boolean): void {
  const value = config[option];
  if (value === undefined) return;
  delete config[option];
  if (/^unused\d+$/.test(option)) {
    freeVolume(state, node, value);
    return;
  }
  if (!DRIVE_KEY_RE.test(option)) return;
  const drive = parseDrive(value);
  if (!VOLUME_ID_RE.test(drive.file)) return;
  if (isCloudinitVolume(drive.file) || force) freeVolume(state, node, drive.file);
  else if (!isCdrom(drive)) addUnused(config, drive.file);
}

async function applyUpdate(core: EmulatorCore, update: ConfigUpdate, task?: TaskContext): Promise<void> {
  const { node, vmid: id, identity } = update;
  await core.locks.withLock(update.lock, async () => {
    const vm = reload(core.state, node, id);
    checkLock(vm);
    if (update.digest !== undefined && update.digest !== configDigest(vm)) {
      throw handlerError("detected modified configuration - file changed by other user? Try again.");
    }
    // update_vm_api checks tags here, in the worker under the lock (a task error, not a 403), for a removal and a new value alike.
    const oldTags = splitList(vm.config.tags ?? "");
    if (update.deletes.includes("tags")) assertTagPermissions(core.state, core.datacenter, identity, id, oldTags, []);
    if (update.sentTags !== undefined) assertTagPermissions(core.state, core.datacenter, identity, id, oldTags, splitList(update.sentTags));
    // The NICs an update replaces or removes: SDN.Use on their old bridge too.
    const replacedNics = [...update.deletes, ...Object.keys(update.settings)].filter((key) => /^net\d+$/.test(key) && vm.config[key] !== undefined);
    checkBridgeAccess(identity, Object.fromEntries(replacedNics.map((key) => [key, vm.config[key] ?? ""])));
    // On a stopped VM everything pending takes effect with this update (vmconfig_apply_pending).
    const config = vm.running ? { ...vm.config } : configWithPending(vm);
    for (const option of update.deletes) deleteOption(core.state, node, config, option, update.force);
    const driveSettings = Object.fromEntries(driveKeys(update.settings).map((key) => [key, update.settings[key] ?? ""]));
    await task?.step(0.5);
    const created = await createDisks(core, { node, vmid: id, settings: driveSettings, config, task });
    for (const [key, value] of Object.entries(created.drives)) {
      const previous = config[key];
      if (previous !== undefined && parseDrive(previous).file !== parseDrive(value).file) deleteOption(core.state, node, config, key, false);
      config[key] = value;
    }
    for (const [key, value] of Object.entries(update.settings)) if (!DRIVE_KEY_RE.test(key)) config[key] = value;
    try {
      await task?.step(0.5);
    } catch (error) {
      freeVolumes(core, created.volumes);
      throw error;
    }
    if (vm.running) holdBackPending(vm, config, [...update.deletes, ...Object.keys(update.settings)]);
    else applyPending(vm, config);
    core.state.changed();
  });
}

export async function putConfig(context: RouteContext): Promise<null> {
  await applyUpdate(context.core, prepareUpdate(context));
  return null;
}

export async function postConfig(context: RouteContext): Promise<string | null> {
  const update = prepareUpdate(context);
  const upid = startTask(context, update.node, "qmconfig", String(update.vmid), (task) => applyUpdate(context.core, update, task));
  const delay = integer(context, "background_delay");
  const finished = delay === undefined ? undefined : await waitBriefly(context.core, update.node, upid, delay);
  if (!finished) return upid;
  if (finished.exitstatus === "OK") return null;
  throw handlerError(`failed to update VM ${update.vmid}: ${finished.exitstatus}`);
}

export async function resize(context: RouteContext): Promise<string | null> {
  const { core, identity } = context;
  const node = nodeName(context);
  const id = vmid(context);
  const disk = requiredText(context, "disk");
  const size = requiredText(context, "size");
  const digest = text(context, "digest");
  refuseSkiplock(context);
  const lock = vmLock(context, id, 10_000);
  const work = (task?: TaskContext): Promise<void> =>
    core.locks.withLock(lock, async () => {
      const vm = reload(core.state, node, id);
      if (digest !== undefined && digest !== configDigest(vm)) throw handlerError("checksum missmatch (file change by other user?)");
      checkLock(vm);
      const value = vm.config[disk];
      if (value === undefined) throw handlerError(`disk '${disk}' does not exist`);
      const drive = parseDrive(value);
      if (isCdrom(drive)) throw handlerError("you can't resize a cdrom");
      requirePrivileges(identity, `/storage/${drive.file.split(":")[0]}`, ["Datastore.AllocateSpace"]);
      const volume = core.state.volume(node, drive.file);
      if (!volume || !parseVolname(drive.file.split(":")[1] ?? "")) {
        throw handlerError(`Could not determine current size of volume '${drive.file}'`);
      }
      const match = /^(\+)?(\d+(?:\.\d+)?)([KMGT])?$/.exec(size);
      if (!match) throw handlerError("internal error");
      const factor = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 }[match[3] ?? ""] ?? 1;
      const requested = Math.floor(Number(match[2]) * factor + (match[1] ? volume.size : 0));
      if (requested < volume.size) throw handlerError("shrinking disks is not supported");
      if (requested === volume.size) return;
      task?.log(`  Size of logical volume ${drive.file} changed to ${formatSize(requested)}.`);
      await task?.step(1);
      volume.size = requested;
      vm.config[disk] = printDrive({ file: drive.file, options: { ...drive.options, size: formatSize(requested) } });
      core.state.changed();
    });
  if (!atLeast(core.release, 8, 0)) {
    await work();
    return null;
  }
  return startTask(context, node, "resize", String(id), (task) => work(task));
}
