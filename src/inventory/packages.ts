import type { Role } from "../spec/types.ts";

/** What each role cannot run without. */
const ROLE_PACKAGES: Readonly<Record<Role, readonly string[]>> = {
  loadbalancer: ["keepalived", "haproxy"],
  server: ["rke2", "rke2-selinux"],
  agent: ["rke2", "rke2-selinux"],
};

/** Cluster-wide packages, then the role's, then the group's; first occurrence kept. */
export function hostPackages(clusterPackages: readonly string[], role: Role, groupPackages: readonly string[]): string[] {
  return [...new Set([...clusterPackages, ...ROLE_PACKAGES[role], ...groupPackages])];
}
