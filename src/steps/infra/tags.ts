// The tags that mark a VM as starbase's: `starbase`, `starbase-<cluster>` and
// `starbase-<role>`. A fixed set, so that an administrator who restricts tags (datacenter
// option user-tag-access) can allow them once; the VM's config itself, read on every run, says
// whether it is what the spec wants.

export const MANAGED_TAG = "starbase";
/** Earlier versions also tagged each VM starbase-cfg-<hash of its config>; apply removes that tag. */
const LEGACY_CONFIG_TAG_PREFIX = "starbase-cfg-";

export function clusterTag(cluster: string): string {
  return `${MANAGED_TAG}-${cluster}`.toLowerCase();
}

/** Carries both `starbase` and `starbase-<cluster>`: a VM of this cluster, the only kind starbase changes or destroys. */
export function isClusterVm(vm: { tags: readonly string[] }, cluster: string): boolean {
  return vm.tags.includes(MANAGED_TAG) && vm.tags.includes(clusterTag(cluster));
}

/** Tags starbase owns on a VM: "starbase" and every "starbase-…" tag; others belong to the user and are kept. */
export function isManagedTag(tag: string): boolean {
  return tag === MANAGED_TAG || tag.startsWith(`${MANAGED_TAG}-`);
}

export function isLegacyConfigTag(tag: string): boolean {
  return tag.startsWith(LEGACY_CONFIG_TAG_PREFIX);
}

/** The tags starbase gives a VM of this role in this cluster, lower case and sorted. */
export function vmTags(cluster: string, role: string): string[] {
  return [MANAGED_TAG, clusterTag(cluster), `${MANAGED_TAG}-${role}`.toLowerCase()].sort();
}

/** The tags of a VM as Proxmox reports them ("a;b", or split by "," or spaces), lower case. */
export function tagsOf(value: string | number | undefined): string[] {
  if (value === undefined) return [];
  return String(value).split(/[;,\s]+/).filter((t) => t !== "").map((t) => t.toLowerCase());
}
