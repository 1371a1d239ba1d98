// Who may set which tag: the datacenter options `user-tag-access` and `registered-tags`
// (pve-cluster PVE/DataCenterConfig.pm) and the checks of pve-guest-common PVE/GuestHelpers.pm
// (get_allowed_tags, assert_tag_permissions). A user or token with Sys.Modify on / may set and
// remove any tag; any other one may change only tags that `user-allow` permits (free: any; list:
// those of `user-allow-list`; existing: those too and every tag on a guest it can audit; none:
// no tag) and never a registered tag. Removing a tag is checked like setting it.
import { hasPrivilege, type Identity, requirePrivileges } from "./auth.ts";
import { permissionError } from "./errors.ts";
import { splitList } from "./formats.ts";
import type { DatacenterSettings } from "./options.ts";
import type { EmulatorState } from "./state.ts";

export type UserAllow = "none" | "list" | "existing" | "free";

/** datacenter.cfg as parse_datacenter_config returns it (and GET /cluster/options shows it). */
export interface DatacenterConfig {
  keyboard?: string;
  "user-tag-access"?: { "user-allow"?: UserAllow; "user-allow-list"?: string[] };
  "registered-tags"?: string[];
}

/** The installer writes the keyboard layout into datacenter.cfg (pve-installer Proxmox/Install.pm). */
export function datacenterConfig(settings: DatacenterSettings = {}): DatacenterConfig {
  const config: DatacenterConfig = { keyboard: "en-us" };
  const access = settings["user-tag-access"];
  if (access !== undefined) {
    const parsed: NonNullable<DatacenterConfig["user-tag-access"]> = {};
    for (const item of access.split(",").filter((part) => part !== "")) {
      const [key, value = ""] = item.split("=", 2);
      if (key === "user-allow" && ["none", "list", "existing", "free"].includes(value)) parsed["user-allow"] = value as UserAllow;
      else if (key === "user-allow-list") parsed["user-allow-list"] = value.split(";").filter((tag) => tag !== "");
      else throw new Error(`user-tag-access: unknown or invalid item '${item}'`);
    }
    config["user-tag-access"] = parsed;
  }
  const registered = settings["registered-tags"];
  if (registered !== undefined) config["registered-tags"] = registered.split(";").filter((tag) => tag !== "");
  return config;
}

interface AllowedTags {
  allowed: Set<string>;
  registered: Set<string>;
  freeform: boolean;
}

/** get_allowed_tags. */
export function allowedTags(state: EmulatorState, config: DatacenterConfig, identity: Identity): AllowedTags {
  const privileged = hasPrivilege(identity, "/", "Sys.Modify");
  const registered = new Set(config["registered-tags"] ?? []);
  const userAllow = config["user-tag-access"]?.["user-allow"] ?? "free";
  const allowed = new Set<string>();
  if (userAllow !== "none" || privileged) for (const tag of config["user-tag-access"]?.["user-allow-list"] ?? []) allowed.add(tag);
  if (userAllow === "free" || userAllow === "existing" || privileged) {
    for (const vm of state.vms.values()) {
      if (!privileged && !hasPrivilege(identity, `/vms/${vm.vmid}`, "VM.Audit")) continue;
      for (const tag of splitList(vm.config.tags ?? "")) allowed.add(tag);
    }
  }
  for (const tag of registered) {
    if (privileged) allowed.add(tag);
    else allowed.delete(tag);
  }
  return { allowed, registered, freeform: userAllow === "free" };
}

/**
 * assert_tag_permissions: VM.Config.Options on the VM, then every tag whose count differs
 * between the old and the new value is checked. Runs where qemu-server calls it: inside the
 * qmconfig worker (and the synchronous PUT), and from qemu-server 9.2.0 inside qmcreate.
 */
export function assertTagPermissions(
  state: EmulatorState,
  config: DatacenterConfig,
  identity: Identity,
  vmid: number,
  oldTags: string[],
  newTags: string[],
): void {
  requirePrivileges(identity, `/vms/${vmid}`, ["VM.Config.Options"]);
  if (hasPrivilege(identity, "/", "Sys.Modify")) return;
  const count = (tags: string[]) => tags.reduce((counts, tag) => counts.set(tag, (counts.get(tag) ?? 0) + 1), new Map<string, number>());
  const before = count(oldTags);
  const after = count(newTags);
  let access: AllowedTags | undefined;
  for (const tag of new Set([...before.keys(), ...after.keys()])) {
    if (before.get(tag) === after.get(tag)) continue;
    access ??= allowedTags(state, config, identity);
    if ((!access.allowed.has(tag) && !access.freeform) || access.registered.has(tag)) {
      throw permissionError(`/, Sys.Modify for modifying tag '${tag}'`);
    }
  }
}

/**
 * qemu-server 9.2.0's create_vm calls assert_tag_permissions($vmid, {}, …): split_list of that
 * hash reference yields its Perl stringification, a pseudo-tag "HASH(0x…)" that counts as
 * removed. No setting allows it, so only `free` (or Sys.Modify on /) lets a create with tags pass.
 */
export const PERL_EMPTY_HASH = "HASH(0x55d3c0ffee10)";
