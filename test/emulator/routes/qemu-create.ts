// POST /nodes/{node}/qemu: create_vm of qemu-server (without restore).
import { requirePrivileges } from "../auth.ts";
import { errorText, handlerError, permissionError } from "../errors.ts";
import { splitList } from "../formats.ts";
import { vmLockRequest } from "../locks.ts";
import { assertTagPermissions, PERL_EMPTY_HASH } from "../tag-access.ts";
import {
  DRIVE_KEY_RE,
  defaultBootOrder,
  generatedSmbios,
  generatedVmgenid,
  metaInfo,
  normalizeTags,
  withMacAddress,
} from "../vm-config.ts";
import { type CreatedDisks, checkDrives, createDisks, freeVolumes } from "./disks.ts";
import { type RouteContext, atLeast, flag, nodeName, startTask, text, vmid, vmLock } from "./context.ts";
import { poolExists } from "./pools.ts";
import { startVm } from "./qemu-power.ts";
import { checkBridgeAccess, checkOptionPermissions, checkSshKeys } from "./vm-permissions.ts";

// Parameters of the call itself; everything else becomes config.
const CALL_PARAMS = ["node", "vmid", "archive", "bwlimit", "force", "pool", "start", "storage", "unique", "live-restore", "import-working-storage"];

/** Config options as they are stored: tags normalised, NICs with a MAC, cdrom alias resolved. */
export function storedSettings(params: Record<string, unknown>, exclude: string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const [key, value] of Object.entries(params)) {
    if (exclude.includes(key) || value === undefined || value === null) continue;
    settings[key] = typeof value === "boolean" ? (value ? "1" : "0") : String(value);
  }
  if (settings.cdrom !== undefined) {
    settings.ide2 = settings.cdrom.includes("media=") ? settings.cdrom : `${settings.cdrom},media=cdrom`;
    delete settings.cdrom;
  }
  if (settings.tags !== undefined) settings.tags = normalizeTags(settings.tags);
  for (const key of Object.keys(settings)) {
    if (/^net\d+$/.test(key)) settings[key] = withMacAddress(settings[key] ?? "");
  }
  return settings;
}

export async function createVm(context: RouteContext): Promise<string> {
  const { core, identity } = context;
  const node = nodeName(context);
  const id = vmid(context);
  if (text(context, "archive") !== undefined) throw handlerError("restoring backups is not emulated");
  const pool = text(context, "pool");
  if (pool !== undefined && !poolExists(context, pool)) throw handlerError(`pool '${pool}' does not exist`);
  const defaultStorage = text(context, "storage");
  checkSshKeys(text(context, "sshkeys"));
  if (defaultStorage !== undefined) requirePrivileges(identity, `/storage/${defaultStorage}`, ["Datastore.AllocateSpace"]);
  const allowed = (path: string): boolean => {
    try {
      requirePrivileges(identity, path, ["VM.Allocate"]);
      return true;
    } catch {
      return false;
    }
  };
  if (!allowed(`/vms/${id}`) && !(pool !== undefined && allowed(`/pool/${pool}`))) throw permissionError();
  const settings = storedSettings(context.params, CALL_PARAMS);
  const sentTags = text(context, "tags");
  checkDrives(core, identity, id, settings, defaultStorage);
  checkOptionPermissions(
    identity,
    id,
    Object.keys(settings).filter((key) => !DRIVE_KEY_RE.test(key)),
    settings,
  );
  checkBridgeAccess(identity, settings);

  const failure = (error: unknown): Error => handlerError(`unable to create VM ${id} - ${errorText(error)}`);
  try {
    await core.locks.withLock(vmLock(context, id, 5_000), () => {
      const inUse = core.state.vmidInUse(id);
      if (inUse) throw new Error(inUse);
      core.state.vms.set(id, { vmid: id, node, config: { lock: "create" }, running: false });
      core.state.changed();
    });
  } catch (error) {
    throw failure(error);
  }

  const startAfterCreate = flag(context, "start");
  return startTask(context, node, "qmcreate", String(id), async (task) => {
    try {
      await core.locks.withLock(vmLockRequest(id, 1_000), async () => {
        let created: CreatedDisks | undefined;
        try {
          created = await createDisks(core, { node, vmid: id, settings, config: {}, defaultStorage, task });
          const { drives } = created;
          await task.step(0.2);
          const config: Record<string, string> = { ...settings, ...drives };
          config.boot ??= defaultBootOrder(config);
          config.smbios1 ??= generatedSmbios();
          if (config.vmgenid === undefined || config.vmgenid === "1") config.vmgenid = generatedVmgenid();
          config.meta = metaInfo(core.release.name);
          // qemu-server 9.2.0 checks the tags here, after the disks were imported (with `{}` as the old tags).
          if (sentTags !== undefined && atLeast(core.release, 9, 2)) {
            assertTagPermissions(core.state, core.datacenter, identity, id, [PERL_EMPTY_HASH], splitList(sentTags));
          }
          const vm = core.state.vm(id);
          if (vm) vm.config = config;
          core.state.changed();
        } catch (error) {
          if (created) freeVolumes(core, created.volumes);
          throw new Error(`unable to create VM ${id} - ${errorText(error)}`);
        }
      });
    } catch (error) {
      core.state.vms.delete(id);
      core.state.changed();
      throw error;
    }
    if (startAfterCreate) {
      task.log("Execute autostart");
      try {
        await startVm(core, node, id, task);
      } catch (error) {
        task.warn(errorText(error));
      }
    }
  });
}
