// The package state of a lab host, as MicroOS keeps it: the running snapshot's packages and
// at most one pending snapshot (what transactional-update prepared) that becomes the running
// one only on the next boot. The catalogue says which packages and versions exist.
// Used inside the host (the stand-ins, root "/") and outside it (the supervisor activates the
// pending snapshot between two boots, with root = the host's file system seen from outside).
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface CataloguePackage {
  /** Newest last; `install NAME` takes the newest. */
  versions: string[];
  /** Installed with it, at the same version when the required package has that version. */
  requires?: string[];
  /** On MicroOS images already (rpm -q answers installed from the first boot). */
  base?: boolean;
  /** Files the package brings: copied from `from` (relative to test/lab/) to `to` when it becomes active. */
  files?: { from: string; to: string }[];
}

/** openSUSE's unversioned package (`rke2`): its version is the release with the `+`. */
const OPENSUSE_RKE2_VERSIONS = ["1.33.5+rke2r1", "1.34.1+rke2r1"];
/**
 * Rancher's RPMs: VERSION is the release with `~` for `+` (install.sh), then a RELEASE. Several
 * patch releases of two minors, so that a pin, a newer patch and another minor all exist.
 */
const RANCHER_RKE2_VERSIONS = ["1.33.4~rke2r1-0", "1.33.5~rke2r1-0", "1.34.1~rke2r1-0"];

/** What `transactional-update pkg install` can install here. */
export const CATALOGUE: Record<string, CataloguePackage> = {
  // openSUSE's package (what starbase installs at first boot today): both units, /usr/bin/rke2.
  rke2: {
    versions: OPENSUSE_RKE2_VERSIONS,
    files: [
      { from: "rke2/units/rke2-server.service", to: "/usr/lib/systemd/system/rke2-server.service" },
      { from: "rke2/units/rke2-agent.service", to: "/usr/lib/systemd/system/rke2-agent.service" },
    ],
  },
  // Rancher's RPMs.
  "rke2-selinux": { versions: ["0.20-1"] },
  "rke2-common": { versions: RANCHER_RKE2_VERSIONS, requires: ["rke2-selinux"] },
  "rke2-server": {
    versions: RANCHER_RKE2_VERSIONS,
    requires: ["rke2-common"],
    files: [{ from: "rke2/units/rke2-server.service", to: "/usr/lib/systemd/system/rke2-server.service" }],
  },
  "rke2-agent": {
    versions: RANCHER_RKE2_VERSIONS,
    requires: ["rke2-common"],
    files: [{ from: "rke2/units/rke2-agent.service", to: "/usr/lib/systemd/system/rke2-agent.service" }],
  },
  // The load balancers' daemons are Debian's, always on disk; the package state says whether
  // MicroOS would have them.
  keepalived: { versions: ["2.2.7-1"] },
  haproxy: { versions: ["2.6.12-1"] },
  "qemu-guest-agent": {
    versions: ["9.1.0-1"],
    files: [{ from: "standins/units/qemu-guest-agent.service", to: "/usr/lib/systemd/system/qemu-guest-agent.service" }],
  },
  chrony: { versions: ["4.6-1"] },
  "transactional-update": { versions: ["5.0.4-1"], base: true },
  rebootmgr: { versions: ["3.3-1"], base: true },
  "cloud-init": { versions: ["24.4-1"], base: true },
  "openssh-server": { versions: ["9.9p1-1"], base: true },
};

export type PackageSet = Record<string, string>;

export interface PendingSnapshot {
  number: number;
  install: PackageSet;
  remove: string[];
}

export interface PackageState {
  snapshot: number;
  installed: PackageSet;
  pending?: PendingSnapshot;
}

export const STATE_FILE = "/var/lib/starbase-lab/packages.json";

function newest(name: string): string {
  return CATALOGUE[name]!.versions.at(-1)!;
}

export function readState(root: string): PackageState {
  const file = join(root, STATE_FILE);
  if (!existsSync(file)) return { snapshot: 1, installed: {} };
  return JSON.parse(readFileSync(file, "utf8")) as PackageState;
}

export function writeState(root: string, state: PackageState): void {
  const file = join(root, STATE_FILE);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  // rename keeps the file whole for a reader on the other side of the container boundary.
  renameSync(`${file}.tmp`, file);
}

/** Puts a package's files in place (copied from the lab's sources); says what it could not. */
function installFiles(root: string, labSrc: string, name: string): string[] {
  const problems: string[] = [];
  for (const file of CATALOGUE[name]?.files ?? []) {
    const source = join(labSrc, file.from);
    if (!existsSync(source)) {
      problems.push(`  missing ${file.from}: ${file.to} not installed`);
      continue;
    }
    mkdirSync(dirname(join(root, file.to)), { recursive: true });
    copyFileSync(source, join(root, file.to));
  }
  return problems;
}

/**
 * First-boot state: the base packages plus `names` (cloud-init's packages, installed before its
 * reboot), newest versions, with their files. A name the catalogue lacks is recorded as version
 * "0-lab" and brings no files. Returns what could not be installed.
 */
export function writeInstalled(root: string, labSrc: string, names: string[]): string[] {
  const installed: PackageSet = {};
  for (const [name, entry] of Object.entries(CATALOGUE)) if (entry.base) installed[name] = newest(name);
  const problems: string[] = [];
  for (const name of names) {
    installed[name] = CATALOGUE[name] ? newest(name) : "0-lab";
    problems.push(...installFiles(root, labSrc, name));
  }
  writeState(root, { snapshot: 1, installed });
  return problems;
}

/**
 * The catalogue version a request names: exactly, or by VERSION alone (zypper's `name=1.2` matches
 * any release of 1.2; the newest wins).
 */
function matching(versions: readonly string[], requested: string): string | undefined {
  if (versions.includes(requested)) return requested;
  return versions.filter((version) => version.slice(0, version.lastIndexOf("-")) === requested).at(-1);
}

export type Resolution = { ok: true; install: PackageSet } | { ok: false; message: string };

/** NAME or NAME=VERSION → the packages to install with their requirements, as zypper resolves them. */
export function resolve(requests: string[]): Resolution {
  const install: PackageSet = {};
  const add = (name: string, version: string | undefined): string | undefined => {
    const entry = CATALOGUE[name];
    if (entry === undefined) return `No provider of '${name}' found.`;
    const chosen = version === undefined ? newest(name) : matching(entry.versions, version);
    if (chosen === undefined) return `No provider of '${name}=${version}' found.`;
    install[name] = chosen;
    for (const required of entry.requires ?? []) {
      if (install[required] !== undefined) continue;
      const same = CATALOGUE[required]?.versions.includes(chosen) ? chosen : undefined;
      const problem = add(required, same);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
  for (const request of requests) {
    const [name = "", version] = request.split("=", 2);
    const problem = add(name, version);
    if (problem !== undefined) return { ok: false, message: problem };
  }
  return { ok: true, install };
}

/** The running set with a pending snapshot applied. */
export function applied(installed: PackageSet, pending: PendingSnapshot): PackageSet {
  const result: PackageSet = { ...installed, ...pending.install };
  for (const name of pending.remove) delete result[name];
  return result;
}

/**
 * Between two boots: the pending snapshot becomes the running one. Package files appear
 * (copied from the lab's sources at `labSrc`) and files of removed packages go. Returns what
 * changed, for the supervisor's log.
 */
export function activatePending(root: string, labSrc: string): string[] {
  const state = readState(root);
  const pending = state.pending;
  if (pending === undefined) return [];
  const before = state.installed;
  const after = applied(before, pending);
  const changes: string[] = [];
  for (const [name, version] of Object.entries(after)) {
    if (before[name] === version) continue;
    changes.push(`${name} ${before[name] ?? "-"} -> ${version}`, ...installFiles(root, labSrc, name));
  }
  for (const name of Object.keys(before)) {
    if (after[name] !== undefined) continue;
    changes.push(`${name} ${before[name]} -> removed`);
    for (const file of CATALOGUE[name]?.files ?? []) rmSync(join(root, file.to), { force: true });
  }
  writeState(root, { snapshot: pending.number, installed: after });
  return changes;
}
