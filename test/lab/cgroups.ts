// One cgroup per lab host. systemd-nspawn --keep-unit puts a container's cgroup tree under
// <its own cgroup>/payload; started from the same cgroup, every host would share one tree, and a
// host's systemd would see its neighbours' processes in its units' cgroups (a unit that never
// empties). So each supervisor moves itself into starbase-lab/<machine> first, in the hierarchies
// systemd uses (name=systemd and the unified one on a hybrid machine, or the one cgroup2 tree).
import { existsSync, mkdirSync, readdirSync, rmdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const LAB_GROUP = "starbase-lab";

/** The cgroup hierarchies that systemd (and so nspawn and the container's systemd) works in. */
function hierarchies(): string[] {
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) return ["/sys/fs/cgroup"];
  return ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified"].filter((root) => existsSync(join(root, "cgroup.procs")));
}

/** Moves the calling process into its own cgroup starbase-lab/<machine> in each hierarchy. */
export function enterHostCgroup(machine: string): void {
  for (const root of hierarchies()) {
    const dir = join(root, LAB_GROUP, machine);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "cgroup.procs"), `${process.pid}\n`);
  }
}

/** The cgroup directories of a host (for the leftover check). */
export function hostCgroups(machine: string): string[] {
  return hierarchies()
    .map((root) => join(root, LAB_GROUP, machine))
    .filter((dir) => existsSync(dir));
}

/** rmdir depth first: a cgroup goes once its children and processes are gone. */
function removeTree(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const child = join(dir, entry);
    if (statSync(child).isDirectory()) removeTree(child);
  }
  rmdirSync(dir);
}

/** Removes a stopped host's cgroups, and the lab's parent group when no other lab uses it. */
export function removeHostCgroups(machine: string): void {
  for (const dir of hostCgroups(machine)) removeTree(dir);
  for (const root of hierarchies()) {
    const parent = join(root, LAB_GROUP);
    try {
      if (existsSync(parent) && !readdirSync(parent).some((entry) => statSync(join(parent, entry)).isDirectory())) rmdirSync(parent);
    } catch {
      // another lab's host arrived meanwhile
    }
  }
}
