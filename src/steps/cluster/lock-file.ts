// The cluster phase's run lock: a file on the first server, for runs that reach the nodes but
// not Proxmox (a jump host). A LockStore (../lock.ts holds the taking over, heartbeat and
// expiry every store shares). Each operation is one shell script over SSH, run under flock(1)
// on a guard file beside the lock, so that no reader sees a half-written holder and two
// creates never both succeed; the create itself uses noclobber (O_EXCL).
import { shellQuote } from "../../nodeos/shell.ts";
import type { SshHost } from "../../ssh/pool.ts";
import { holderText, type LockRead, type LockStore, parseHolder, type RunLock, storeLock } from "../lock.ts";

export const LOCK_DIR = "/var/lib/starbase";

export function lockFilePath(cluster: string): string {
  return `${LOCK_DIR}/run-${cluster}.lock`;
}

/** Seconds the guard may be waited for; a run holds it only for a file operation. */
const GUARD_WAIT_SECONDS = 10;
/** The script's answer when the lock file exists (create) or is missing (read). */
const EXISTS = "exists";
const MISSING = "missing";

function guarded(path: string, body: string[]): string {
  return [
    "set -eu",
    `lock=${shellQuote(path)}`,
    `mkdir -p -m 0700 "$(dirname "$lock")"`,
    `exec 9>>"$lock.guard"`,
    `flock -w ${GUARD_WAIT_SECONDS} 9 || { echo 'the lock file is busy' >&2; exit 75; }`,
    ...body,
  ].join("\n");
}

/** Creates the lock file only when there is none; prints "created" or "exists". */
export function createScript(path: string, text: string): string {
  return guarded(path, [
    `if [ -e "$lock" ]; then echo ${EXISTS}; exit 0; fi`,
    `(umask 077; set -C; printf '%s\\n' ${shellQuote(text)} > "$lock")`,
    "echo created",
  ]);
}

/** Prints "exists" and the holder's text, or "missing". */
export function readScript(path: string): string {
  return guarded(path, [`if [ -e "$lock" ]; then echo ${EXISTS}; cat "$lock"; else echo ${MISSING}; fi`]);
}

/** Replaces the holder through a temporary file and a rename. */
export function writeScript(path: string, text: string): string {
  return guarded(path, [
    `(umask 077; printf '%s\\n' ${shellQuote(text)} > "$lock.new")`,
    `mv -f "$lock.new" "$lock"`,
    "echo written",
  ]);
}

export function removeScript(path: string): string {
  return guarded(path, [`rm -f "$lock"`, "echo removed"]);
}

export class LockFileError extends Error {
  override readonly name = "LockFileError";
}

/** A lock store in `path`, where `run` runs a script on the node and returns its standard output. */
export function fileLockStore(path: string, run: (script: string, what: string) => Promise<string>): LockStore {
  const answer = async (script: string, what: string, expected: readonly string[]): Promise<string[]> => {
    const lines = (await run(script, what)).split("\n");
    if (!expected.includes(lines[0] ?? "")) {
      throw new LockFileError(`unexpected answer to ${what} ${path}: ${JSON.stringify(lines.slice(0, 2).join(" "))}`);
    }
    return lines;
  };
  return {
    async create(holder) {
      const [state] = await answer(createScript(path, holderText(holder)), "create", ["created", EXISTS]);
      return state === "created";
    },
    async read(): Promise<LockRead> {
      const [state, ...text] = await answer(readScript(path), "read", [EXISTS, MISSING]);
      return state === MISSING ? { exists: false } : { exists: true, holder: parseHolder(text.join("\n").trim()) };
    },
    async write(holder) {
      await answer(writeScript(path, holderText(holder)), "write", ["written"]);
    },
    async remove() {
      await answer(removeScript(path), "remove", ["removed"]);
    },
  };
}

/** The cluster phase's RunLock: a file on the first server, reached over its SSH connection. */
export function firstServerLock(cluster: string, firstServer: SshHost): RunLock {
  const path = lockFilePath(cluster);
  return storeLock(cluster, fileLockStore(path, async (script, what) => {
    const result = await firstServer.exec(script, { description: `${what} the run lock ${path}` });
    if (result.code !== 0) throw new LockFileError(`${firstServer.name}: ${what} the run lock ${path} failed (exit ${result.code}): ${result.stderr.trim()}`);
    return result.stdout;
  }));
}
