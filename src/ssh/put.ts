// An atomic, verified file write over one exec (no SFTP): the content streams into a temporary
// file in the target's directory (mktemp: mode 0600, so nobody reads it half-written), which is
// fsync'ed, given its owner and mode, checked against the SHA-256 of what was sent, and renamed
// over the target; the directory is fsync'ed so the rename survives a crash. A reader sees the
// old file or the new one, never a mix. put does no comparison: whether to write is decided by
// an observation (the file's hash in the host's facts), compared with sha256Hex(content).
import { createHash } from "node:crypto";
import { shellQuote } from "./exec.ts";

export interface PutOptions {
  /** File mode, e.g. 0o600; the caller gives the narrowest it needs. */
  mode: number;
  /** Owner and group (names or ids); root's when absent. */
  owner?: string;
  group?: string;
  /** Create the parent directory (mode 0755) when it is missing. */
  createParent?: boolean;
}

export function sha256Hex(content: string | Uint8Array): string {
  return createHash("sha256").update(content).digest("hex");
}

/** Exit code of the put script when the written file's hash differs from the content's. */
export const PUT_HASH_MISMATCH = 3;

/** The shell script that writes `path` from standard input; runs as root (through sudo for a non-root user). */
export function putScript(path: string, sha256: string, options: PutOptions): string {
  if (!path.startsWith("/") || path.endsWith("/")) throw new Error(`put: ${path} is not an absolute file path`);
  const mode = options.mode.toString(8).padStart(4, "0");
  const owner = options.owner === undefined ? undefined : `${options.owner}${options.group === undefined ? "" : `:${options.group}`}`;
  const lines = [
    "set -eu",
    `p=${shellQuote(path)}`,
    'd=${p%/*}',
    'd=${d:-/}',
    ...(options.createParent === true ? ['mkdir -p -m 0755 "$d"'] : []),
    't=$(mktemp "$d/.starbase-put.XXXXXXXX")',
    `trap 'rm -f "$t"' EXIT`,
    'cat > "$t"',
    'sync "$t"',
    ...(owner === undefined ? [] : [`chown ${shellQuote(owner)} "$t"`]),
    ...(owner === undefined && options.group !== undefined ? [`chgrp ${shellQuote(options.group)} "$t"`] : []),
    `chmod ${mode} "$t"`,
    'h=$(sha256sum "$t")',
    `[ "\${h%% *}" = ${sha256} ] || { echo "written file has sha256 \${h%% *}" >&2; exit ${PUT_HASH_MISMATCH}; }`,
    'mv -f "$t" "$p"',
    "trap - EXIT",
    'sync "$d"',
    'h=$(sha256sum "$p")',
    'echo "${h%% *}"',
  ];
  return lines.join("\n");
}
