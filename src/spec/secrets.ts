import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { isAbsolute, join, resolve } from "node:path";
import type { SecretRef } from "./types.ts";

/** A secret that cannot be resolved. The message names the field and where it looked, never a value. */
export class SecretError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = "SecretError";
  }
}

/** "~/x" → $HOME/x; a relative path is taken from the spec's directory. */
export function expandPath(path: string, baseDir: string): string {
  if (path === "~") return homedir();
  if (path.startsWith("~/")) return join(homedir(), path.slice(2));
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

function readSecretFile(path: string, field: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : code === "EISDIR" ? "is a directory" : `cannot be read (${code ?? "unknown error"})`;
    throw new SecretError(field, `secret file ${path}: ${reason}`);
  }
}

/**
 * The secret a reference points at: an environment variable, a file (relative to the spec's
 * directory, `~` expanded, trailing newlines dropped) or an inline string.
 */
export function resolveSecret(ref: SecretRef, baseDir: string, field: string): string {
  if (typeof ref === "string") {
    if (ref === "") throw new SecretError(field, "the inline secret is empty");
    return ref;
  }
  if ("env" in ref) {
    const value = process.env[ref.env];
    if (value === undefined) throw new SecretError(field, `environment variable ${ref.env} is not set`);
    if (value === "") throw new SecretError(field, `environment variable ${ref.env} is empty`);
    return value;
  }
  const path = expandPath(ref.file, baseDir);
  const value = readSecretFile(path, field).replace(/(\r?\n)+$/, "");
  if (value === "") throw new SecretError(field, `secret file ${path} is empty`);
  return value;
}
