// A lab's state in DIR/lab.json: enough for another process (`lab exec`, `lab down`, a host's
// supervisor) to find every namespace, mount, process and file the lab made.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface HostState {
  name: string;
  /** Network namespace (/run/netns/<netns>). */
  netns: string;
  /** Per-host directory in DIR: overlay upper/work, logs, pid files. */
  dir: string;
  /** The host's root as the machine sees it (overlay mount point). */
  root: string;
  /** Addresses by network name. */
  addresses: Record<string, string>;
  /** The systemd-nspawn command line the supervisor runs for each boot. */
  nspawn: string[];
  supervisorPid?: number;
  /** SSH host key (public, "ssh-ed25519 AAAA… comment"). */
  hostKey: string;
}

export interface LabState {
  dir: string;
  prefix: string;
  switchNetns: string;
  controlNetns: string;
  /** Control-side addresses by network name. */
  controlAddresses: Record<string, string>;
  /** The repository's test/lab/ (mounted read-only at /opt/starbase-lab/src in every host). */
  labSrc: string;
  rootfs: string;
  hosts: HostState[];
  /** False while `up` is still building; `down` cleans up either way. */
  ready: boolean;
}

export function statePath(dir: string): string {
  return join(dir, "lab.json");
}

export function hasLabState(dir: string): boolean {
  return existsSync(statePath(dir));
}

export function readLabState(dir: string): LabState {
  return JSON.parse(readFileSync(statePath(dir), "utf8")) as LabState;
}

export function writeLabState(state: LabState): void {
  const file = statePath(state.dir);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}

/** The host's machine name (nspawn's --machine), unique per lab and host. */
export function machineName(host: HostState): string {
  const flag = host.nspawn.find((arg) => arg.startsWith("--machine="));
  if (flag === undefined) throw new Error(`host ${host.name} has no --machine in its nspawn command line`);
  return flag.slice("--machine=".length);
}
