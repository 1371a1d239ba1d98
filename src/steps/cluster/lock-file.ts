// The cluster phase's run lock is a file on the first server, for runs that reach the nodes but
// not Proxmox (a jump host). Every operation is one shell script run over SSH, inside flock(1)
// on a guard file beside the lock, so "look, then create or take over" is atomic among runs;
// the lock itself is created with noclobber (O_EXCL). Its mtime is the heartbeat and its age is
// measured by the node's own clock, so the runs' clocks never need to agree.
import { shellQuote } from "../../nodeos/shell.ts";

export const LOCK_DIR = "/var/lib/starbase";

export function lockFilePath(cluster: string): string {
  return `${LOCK_DIR}/run-${cluster}.lock`;
}

/** What the node says about the lock file after an operation. */
export type LockFileAnswer =
  | { state: "acquired" }
  | { state: "held"; content: string; ageSeconds: number }
  | { state: "beat" }
  | { state: "released" }
  /** The file is gone or names another run: this run does not hold it. */
  | { state: "lost"; content: string | undefined; ageSeconds: number | undefined };

/** Seconds the guard may be waited for; a run holds it only for a few file operations. */
const GUARD_WAIT_SECONDS = 10;

/** Prints the lock's content between markers and its age in the node's seconds. */
const SHOW_LOCK = [
  `printf 'content\\n'; cat "$lock"; printf '\\nend-content\\n'`,
  `printf 'age\\t%s\\n' $(( $(date +%s) - $(stat -c %Y "$lock") ))`,
].join("; ");

function guarded(path: string, body: string[]): string {
  return [
    "set -eu",
    `lock=${shellQuote(path)}`,
    `mkdir -p -m 0700 "$(dirname "$lock")"`,
    `exec 9>>"$lock.guard"`,
    `flock -w ${GUARD_WAIT_SECONDS} 9 || { echo 'guard busy' >&2; exit 75; }`,
    ...body,
  ].join("\n");
}

/** Whether the lock names this run: its token is a UUID, written as JSON `"run":"<token>"`. */
function mine(token: string): string {
  if (!/^[0-9a-f-]{36}$/.test(token)) throw new Error("a run token is a UUID");
  return `grep -qF ${shellQuote(`"run":"${token}"`)} "$lock"`;
}

/** Writes the holder through a temporary file and rename, so a reader never sees half of it. */
function writeHolder(holder: string): string[] {
  return [`printf '%s\\n' ${shellQuote(holder)} > "$lock.new"`, `chmod 0600 "$lock.new"`, `mv -f "$lock.new" "$lock"`];
}

/** Creates the lock when there is none; otherwise shows who holds it. */
export function acquireScript(path: string, holder: string): string {
  return guarded(path, [
    `if [ -e "$lock" ]; then printf 'held\\n'; ${SHOW_LOCK}; exit 0; fi`,
    `(umask 077; set -C; printf '%s\\n' ${shellQuote(holder)} > "$lock")`,
    "printf 'acquired\\n'",
  ]);
}

/** Replaces a gone run's lock, but only if it still names that run (another run may have been faster). */
export function takeOverScript(path: string, goneToken: string, holder: string): string {
  return guarded(path, [
    `if [ -e "$lock" ] && ${mine(goneToken)}; then`,
    ...writeHolder(holder).map((line) => `  ${line}`),
    "  printf 'acquired\\n'",
    `elif [ -e "$lock" ]; then printf 'held\\n'; ${SHOW_LOCK}`,
    "else printf 'lost\\n'; fi",
  ]);
}

/** Refreshes the heartbeat (mtime) and the holder text if the lock is still this run's. */
export function heartbeatScript(path: string, token: string, holder: string): string {
  return guarded(path, [
    `if [ -e "$lock" ] && ${mine(token)}; then`,
    ...writeHolder(holder).map((line) => `  ${line}`),
    "  printf 'beat\\n'",
    `elif [ -e "$lock" ]; then printf 'lost\\n'; ${SHOW_LOCK}`,
    "else printf 'lost\\n'; fi",
  ]);
}

/** Removes the lock only if it is this run's: a lock another run took over stays. */
export function releaseScript(path: string, token: string): string {
  return guarded(path, [`if [ -e "$lock" ] && ${mine(token)}; then rm -f "$lock"; printf 'released\\n'; else printf 'lost\\n'; fi`]);
}

export class LockFileAnswerError extends Error {
  override readonly name = "LockFileAnswerError";
}

/** Reads a script's output; anything else than the shapes above is an error, never a lock state. */
export function parseLockAnswer(output: string): LockFileAnswer {
  const lines = output.split("\n");
  const state = lines[0];
  let content: string | undefined;
  let ageSeconds: number | undefined;
  const start = lines.indexOf("content");
  const end = lines.lastIndexOf("end-content");
  if (start !== -1 && end > start) {
    content = lines.slice(start + 1, end).join("\n").trim();
    const age = lines.slice(end + 1).find((line) => line.startsWith("age\t"));
    ageSeconds = age === undefined ? undefined : Number(age.slice(4));
  }
  if (state === "acquired" || state === "beat" || state === "released") return { state };
  if (state === "held" && content !== undefined && ageSeconds !== undefined && Number.isFinite(ageSeconds)) {
    return { state, content, ageSeconds };
  }
  if (state === "lost") return { state, content, ageSeconds };
  throw new LockFileAnswerError(`unexpected answer about the lock file: ${JSON.stringify(output.slice(0, 200))}`);
}
