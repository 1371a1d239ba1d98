// PVE::Storage::check_volume_access (pve-storage): who may use an existing volume — as a
// VM's CD-ROM or disk, as the source of import-from, in a content listing, or to read its
// attributes. Datastore.Allocate on the storage allows everything; ISOs, templates and import
// sources need only Datastore.AllocateSpace or Datastore.Audit ("read access").
import { holds, type Identity, type Need, privilegeCheck } from "../auth.ts";
import { type ApiError, handlerError, permissionError } from "../errors.ts";
import { VOLUME_ID_RE } from "../formats.ts";
import { parseVolname } from "../storage-model.ts";

const READABLE_TYPES = new Set(["iso", "vztmpl", "import"]);

/** The refusal of check_volume_access, or undefined; `vmid` is the VM the volume is used for (its own disks need nothing more). */
function refusal(identity: Identity, volid: string, vmid: number | undefined, filter: boolean): ApiError | undefined {
  const [, storeid = "", volname = ""] = VOLUME_ID_RE.exec(volid) ?? [];
  const parsed = parseVolname(volname);
  if (!parsed) return handlerError(`unable to parse volume name '${volname}'`);
  const storage = `/storage/${storeid}`;
  const need = (path: string, privilege: string): Need => ({ path, privilege });
  const allocate = [need(storage, "Datastore.Allocate")];
  if (READABLE_TYPES.has(parsed.content)) {
    const granted = privilegeCheck(identity, [allocate, [need(storage, "Datastore.AllocateSpace")], [need(storage, "Datastore.Audit")]], filter);
    return granted ? undefined : permissionError(`${storage}, Datastore.AllocateSpace|Datastore.Audit`);
  }
  if (parsed.vmid !== undefined && parsed.vmid === vmid) return undefined;
  if (parsed.content === "images" && parsed.vmid !== undefined) {
    const owner = [need(storage, "Datastore.Audit"), need(`/vms/${parsed.vmid}`, "VM.Config.Disk")];
    if (privilegeCheck(identity, [allocate, owner], filter)) return undefined;
    const missing = owner.find((wanted) => !holds(identity, wanted));
    return permissionError(`${missing?.path}, ${missing?.privilege}`);
  }
  return privilegeCheck(identity, [allocate], filter) ? undefined : handlerError(`missing privileges to access ${volid}`);
}

export function checkVolumeAccess(identity: Identity, volid: string, vmid?: number): void {
  const refused = refusal(identity, volid, vmid, false);
  if (refused) throw refused;
}

/** The same check as a listing filter (content index): volumes the token may not use are left out. */
export function mayAccessVolume(identity: Identity, volid: string): boolean {
  return refusal(identity, volid, undefined, true) === undefined;
}
