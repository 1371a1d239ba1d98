import type { HostEntry } from "../spec/types.ts";

/** Proxmox accepts VMIDs in this range (inclusive). */
export const VMID_MIN = 100;
export const VMID_MAX = 999_999_999;

/** The host's own `vmid`, or the type's vmidStart + its index among the hosts of the type. */
export function hostVmid(host: HostEntry, index: number, vmidStart: number): number {
  return host.vmid ?? vmidStart + index;
}
