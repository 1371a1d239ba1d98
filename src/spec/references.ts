// What the spec refers to outside itself: secrets ({ env } or { file }) and the Proxmox CA file.
// A reference that cannot be used is a SpecReferenceError: it names the spec field (and, by its
// path, the place in cluster.yaml) and what to do, never a secret's value.
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import { specIssue } from "./diagnostics.ts";
import { formatPath } from "./paths.ts";
import { KiB, MiB, readTextFile, TextFileError } from "./text-file.ts";
import type { SpecIssue, SpecPath } from "./types.ts";

export class SpecReferenceError extends Error {
  constructor(
    /** The reference in the spec, e.g. ["proxmox", "tokenSecret"]. */
    readonly path: SpecPath,
    readonly problem: string,
    readonly hint?: string,
    /** Missing here (unset variable, absent or unreadable file) rather than wrong. */
    readonly unavailable = false,
  ) {
    super(`${formatPath(path)}: ${problem}`);
    this.name = "SpecReferenceError";
  }

  /** The problem as an issue at the reference's value, for a FILE:LINE:COL diagnostic. */
  get issue(): SpecIssue {
    return specIssue("error", this.path, this.message, this.hint, false);
  }
}

/** A secret is a token, a password or a seed: a few hundred bytes at most. */
export const SECRET_MAX_BYTES = 64 * KiB;
/** A CA bundle (the system's holds ~150 certificates in ~200 KiB). */
export const CA_MAX_BYTES = MiB;

/** "~/x" → $HOME/x; a relative path is taken from the spec's directory. */
export function expandPath(path: string, baseDir: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

/** A file the spec names (`what`: "secret file", "CA file"), read through readTextFile's checks. */
export function readReferencedFile(path: SpecPath, file: string, baseDir: string, maxBytes: number, what: string): string {
  const absolute = expandPath(file, baseDir);
  try {
    return readTextFile(absolute, maxBytes);
  } catch (error) {
    if (!(error instanceof TextFileError)) throw error;
    const hint = error.unavailable ? `correct the path (a relative one starts at the spec's directory) or create ${absolute}` : undefined;
    throw new SpecReferenceError(path, `${what} ${error.message}`, hint, error.unavailable);
  }
}

const PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----";

/** The PEM text of proxmox.tls.ca; it must hold at least one certificate. */
export function readCaFile(file: string, baseDir: string): string {
  const path = ["proxmox", "tls", "ca"];
  const pem = readReferencedFile(path, file, baseDir, CA_MAX_BYTES, "CA file");
  if (!pem.includes(PEM_CERTIFICATE)) {
    throw new SpecReferenceError(
      path,
      `CA file ${expandPath(file, baseDir)} holds no PEM certificate (${PEM_CERTIFICATE})`,
      "use the CA certificate in PEM form, e.g. /etc/pve/pve-root-ca.pem from a Proxmox node",
    );
  }
  return pem;
}
