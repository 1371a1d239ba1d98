// transactional-update stand-in. Keeps the state the real one keeps: each call prepares a new
// snapshot from the running system (or, with --continue, from the pending one), which becomes
// the running system only on the next boot (the lab's supervisor activates it); /run/reboot-needed
// says a reboot is due. Packages come from the lab catalogue (packages.ts), not from zypper.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { applied, CATALOGUE, readState, resolve, writeState, type PendingSnapshot } from "./packages.ts";
import { lockedNames } from "./zypper.ts";

const LOCK_HINT = "zypper removelock";
const GENERAL = new Set(["cleanup", "dup", "up", "patch", "reboot"]);
const UPDATE = new Set(["dup", "up", "patch"]);

/** REBOOT_METHOD from /etc/transactional-update.conf (the admin's file wins; "auto" otherwise). */
function rebootMethod(): string {
  const file = "/etc/transactional-update.conf";
  if (!existsSync(file)) return "auto";
  const match = /^REBOOT_METHOD=["']?([a-z]+)/m.exec(readFileSync(file, "utf8"));
  return match?.[1] ?? "auto";
}

/** What the real tool does for `reboot` with each REBOOT_METHOD (lib/Reboot.cpp). */
function reboot(): number {
  const method = rebootMethod();
  console.log(`Reboot method: ${method}`);
  if (method === "kured") {
    writeFileSync("/run/reboot-required", "");
    return 0;
  }
  if (method === "none" || method === "notify") return 0;
  const argv = method === "rebootmgr" ? ["rebootmgrctl", "reboot"] : ["systemctl", "reboot"];
  return Bun.spawnSync(argv, { stdio: ["ignore", "inherit", "inherit"] }).exitCode;
}

/** The snapshot this call prepares: on top of the pending one with --continue, else a fresh one (the pending one is discarded). */
function pendingFrom(pending: PendingSnapshot | undefined, number: number, cont: boolean): PendingSnapshot {
  return cont && pending !== undefined ? { ...pending, number } : { number, install: {}, remove: [] };
}

export function transactionalUpdate(argv: string[]): number {
  let cont = false;
  
  const commands: string[] = [];
  let pkg: { action: string; names: string[] } | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (pkg !== undefined) {
      // zypper options after the package command (-y, --auto-agree-with-licenses …) change nothing here.
      if (!arg.startsWith("-")) pkg.names.push(arg);
    } else if (arg === "-n" || arg === "--non-interactive" || arg === "--no-selfupdate" || arg === "-q" || arg === "--quiet") {
      continue;
    } else if (arg === "-c" || arg === "--continue") {
      cont = true;
      if (/^\d+$/.test(argv[i + 1] ?? "")) i++;
    } else if (arg === "-d" || arg === "--drop-if-no-change") {
      continue;
    } else if (arg === "pkg") {
      const action = argv[++i] ?? "";
      if (!["install", "in", "remove", "rm", "update", "up"].includes(action)) {
        console.error(`transactional-update: the lab stand-in models pkg install|remove|update, not '${action}'`);
        return 1;
      }
      pkg = { action, names: [] };
    } else if (GENERAL.has(arg)) {
      commands.push(arg);
    } else {
      console.error(`transactional-update: '${arg}' is not modelled by the lab stand-in (see test/lab/README.md)`);
      return 1;
    }
  }
  if (pkg === undefined && commands.length === 0) {
    console.error("transactional-update: no command (the lab stand-in does not run the default 'up' without one)");
    return 1;
  }

  const state = readState("/");
  const pendingBefore = state.pending;
  const base = cont && pendingBefore !== undefined ? applied(state.installed, pendingBefore) : state.installed;
  const number = Math.max(state.snapshot, pendingBefore?.number ?? 0) + 1;
  const next = pendingFrom(pendingBefore, number, cont);
  let changed = false;
  // zypper inside the snapshot reads /etc/zypp/locks: locked packages are neither updated nor installed.
  const locked = new Set(lockedNames("/"));
  const mark = (name: string, version: string) => {
    if (base[name] === version || locked.has(name)) return;
    next.install[name] = version;
    next.remove = next.remove.filter((removed) => removed !== name);
    changed = true;
  };

  if (pkg !== undefined) {
    if (pkg.names.length === 0) {
      console.error("transactional-update: pkg needs package names");
      return 1;
    }
    console.log(`Calling zypper ${pkg.action} ${pkg.names.join(" ")} (starbase lab catalogue)`);
    if (pkg.action === "install" || pkg.action === "in") {
      const resolution = resolve(pkg.names);
      const refused = resolution.ok ? Object.keys(resolution.install).filter((name) => locked.has(name) && base[name] !== resolution.install[name]) : [];
      if (refused.length > 0) {
        console.error(`Problem: ${refused.map((name) => `'${name}' is locked (${LOCK_HINT})`).join("; ")}`);
        console.error("transactional-update: zypper failed; the new snapshot is discarded");
        return 1;
      }
      if (!resolution.ok) {
        console.error(resolution.message);
        console.error("transactional-update: zypper failed; the new snapshot is discarded");
        return 1;
      }
      for (const [name, version] of Object.entries(resolution.install)) mark(name, version);
    } else if (pkg.action === "remove" || pkg.action === "rm") {
      for (const name of pkg.names) {
        if (base[name] === undefined) {
          console.error(`'${name}' not found in package names. Nothing to remove.`);
          continue;
        }
        delete next.install[name];
        if (!next.remove.includes(name)) next.remove.push(name);
        changed = true;
      }
    } else {
      for (const name of pkg.names) {
        const versions = CATALOGUE[name]?.versions;
        if (base[name] !== undefined && versions !== undefined) mark(name, versions.at(-1)!);
      }
    }
  }
  for (const command of commands) {
    if (!UPDATE.has(command)) continue;
    // An update takes every installed package to the newest version the catalogue has.
    for (const name of Object.keys(base)) {
      const versions = CATALOGUE[name]?.versions;
      if (versions !== undefined) mark(name, versions.at(-1)!);
    }
  }

  const snapshotting = pkg !== undefined || commands.some((command) => UPDATE.has(command));
  if (snapshotting) {
    if (!changed) {
      // zypper's dry run found nothing to change: the real tool quits ("zypper: nothing to update")
      // before making a snapshot and skips the combined general commands (reboot included).
      console.log("Nothing to do. No new snapshot.");
      return 0;
    }
    writeState("/", { ...state, pending: next });
    writeFileSync("/run/reboot-needed", "reboot\n");
    console.log(`New default snapshot is #${number} (lab stand-in).`);
    console.log("Please reboot your machine to activate the changes and avoid data loss.");
  }
  return commands.includes("reboot") ? reboot() : 0;
}
