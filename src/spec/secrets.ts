import { expandPath, readReferencedFile, SECRET_MAX_BYTES, SpecReferenceError } from "./references.ts";
import type { SecretRef, SpecPath } from "./types.ts";

/** The environment a command runs in, as it was given to it (never read from the process here). */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The secret a reference points at: a variable of `env`, a file (relative to the spec's
 * directory, `~` expanded, trailing newlines dropped) or an inline string. Throws
 * SpecReferenceError, which names the field at `path` and what to do, never the value.
 */
export function resolveSecret(ref: SecretRef, baseDir: string, path: SpecPath, env: Env): string {
  if (typeof ref === "string") {
    if (ref === "") throw new SpecReferenceError(path, "the inline secret is empty", "use { env: NAME } or { file: PATH }");
    return ref;
  }
  if ("env" in ref) {
    const value = env[ref.env];
    if (value === undefined) throw new SpecReferenceError(path, `environment variable ${ref.env} is not set`, `export ${ref.env}=…`, true);
    if (value === "") throw new SpecReferenceError(path, `environment variable ${ref.env} is empty`, `export ${ref.env}=… (the secret itself)`);
    return value;
  }
  const value = readReferencedFile(path, ref.file, baseDir, SECRET_MAX_BYTES, "secret file").replace(/(\r?\n)+$/, "");
  if (value === "") throw new SpecReferenceError(path, `secret file ${expandPath(ref.file, baseDir)} is empty`, "write the secret into it");
  return value;
}
