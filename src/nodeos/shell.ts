// Shell text for POSIX sh: every value that reaches a command line goes through `shellQuote`,
// and every name is checked before it gets there.

// Quoting is the SSH layer's (one helper for every command line starbase sends).
export { shellQuote } from "../ssh/exec.ts";

/** Unit names systemd accepts (a conservative subset: no spaces, no shell characters). */
const UNIT_NAME = /^[A-Za-z0-9@._:\\-]+\.(service|socket|timer|target|path|mount)$/;
/** Package names as zypper and rpm take them, optionally with a version (`name=1.2`, `name-1.2~x`). */
const PACKAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9+._~-]*(=[A-Za-z0-9+._~:-]+)?$/;

export function checkUnitName(unit: string): string {
  if (!UNIT_NAME.test(unit)) throw new Error(`not a systemd unit name: ${JSON.stringify(unit)}`);
  return unit;
}

export function checkPackageName(name: string): string {
  if (!PACKAGE_NAME.test(name)) throw new Error(`not a package name: ${JSON.stringify(name)}`);
  return name;
}

/**
 * Absolute paths without control characters or backslashes: the facts output is one record per
 * line, tab-separated, and sha256sum escapes a name with a backslash in it.
 */
export function checkFactPath(path: string): string {
  if (!path.startsWith("/") || /[\u0000-\u001f\u007f\\]/.test(path)) {
    throw new Error(`not an absolute path without control characters or backslashes: ${JSON.stringify(path)}`);
  }
  return path;
}

export function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`not a TCP port: ${port}`);
  return port;
}
