// zypper stand-in, package locks only: `addlock|al`, `removelock|rl`, `locks|ll`. Locks are kept
// where libzypp keeps them, /etc/zypp/locks (blank-line separated entries, `solvable_name:` the
// package), and transactional-update's stand-in honours them as zypper does inside a snapshot:
// an update leaves a locked package where it is, an install of a locked package is refused.
// Every other zypper command says it is not modelled (on MicroOS it would also refuse to change
// the read-only root: "This is a transactional-server …").
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export const LOCKS_FILE = "/etc/zypp/locks";

/** The names of the packages locked under `root`. */
export function lockedNames(root: string): string[] {
  const file = join(root, LOCKS_FILE);
  if (!existsSync(file)) return [];
  return [...readFileSync(file, "utf8").matchAll(/^solvable_name: *(\S+) *$/gm)].map((match) => match[1]!);
}

function writeLocks(names: string[]): void {
  mkdirSync(dirname(LOCKS_FILE), { recursive: true });
  const entries = names.map((name) => `type: package\nmatch_type: exact\ncase_sensitive: on\nsolvable_name: ${name}\n`);
  writeFileSync(LOCKS_FILE, entries.join("\n"));
}

export function zypper(argv: string[]): number {
  const words = argv.filter((arg) => !["-n", "--non-interactive", "-q", "--quiet"].includes(arg));
  const [command = "", ...names] = words;
  const locked = lockedNames("/");
  if (command === "addlock" || command === "al") {
    const added = names.filter((name) => !locked.includes(name));
    writeLocks([...locked, ...added]);
    console.log(`Specified lock${added.length === 1 ? " has" : "s have"} been successfully added.`);
    return 0;
  }
  if (command === "removelock" || command === "rl") {
    const kept = locked.filter((name) => !names.includes(name));
    writeLocks(kept);
    console.log(`${locked.length - kept.length} lock(s) have been successfully removed.`);
    return 0;
  }
  if (command === "locks" || command === "ll") {
    for (const [index, name] of locked.entries()) console.log(`${index + 1} | ${name} | package | (any)`);
    return 0;
  }
  console.error(`zypper: the lab stand-in models addlock, removelock and locks only, not '${command}'`);
  return 1;
}
