import type { Role } from "../spec/types.ts";

const DEFAULT_NAME_PREFIX: Readonly<Record<Role, string>> = {
  loadbalancer: "lb",
  server: "server",
  agent: "agent",
};

export function namePrefixOf(role: Role, namePrefix: string | undefined): string {
  return namePrefix ?? DEFAULT_NAME_PREFIX[role];
}

/**
 * Name of the index-th (0-based) host of a `count` group: agent01 … agent99, agent100.
 * The number is padded to two digits and grows beyond that only for the hosts that need it,
 * so raising count from 99 to 100 never renames agent01 (padding to the width of count would).
 */
export function countedName(prefix: string, index: number): string {
  return prefix + String(index + 1).padStart(2, "0");
}

/** name.<first search domain>, or the bare name when there is none. */
export function hostFqdn(name: string, searchDomains: readonly string[]): string {
  const domain = searchDomains[0];
  return domain === undefined || domain === "" ? name : `${name}.${domain}`;
}
