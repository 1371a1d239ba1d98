import type { Role } from "../spec/types.ts";

/**
 * What each role cannot run without, installed at first boot. RKE2 is not among them: the
 * cluster phase installs the spec's release from Rancher's repository (steps/cluster/rke2-install.ts).
 */
const ROLE_PACKAGES: Readonly<Record<Role, readonly string[]>> = {
  // psmisc: keepalived's haproxy check runs killall (templates/keepalived.conf.mustache).
  loadbalancer: ["keepalived", "haproxy", "psmisc"],
  server: [],
  agent: [],
};

/** Cluster-wide packages, then the role's, then the group's; first occurrence kept. */
export function hostPackages(clusterPackages: readonly string[], role: Role, groupPackages: readonly string[]): string[] {
  return [...new Set([...clusterPackages, ...ROLE_PACKAGES[role], ...groupPackages])];
}
