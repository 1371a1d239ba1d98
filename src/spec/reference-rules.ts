// Checks of what the spec refers to outside itself, made at validate time when it is there to
// look at: secret files (a regular file, not readable by everyone), secrets that are set (not
// empty; ssh.hostKeySecret long enough) and the CA file (PEM). What is not available here (an
// unset variable, a file that does not exist yet) is not an error until a command needs it.
// Values are read only to be checked, never printed.
import { specIssue } from "./diagnostics.ts";
import { formatPath, valueAt } from "./paths.ts";
import { expandPath, readCaFile, SECRET_MAX_BYTES, SpecReferenceError } from "./references.ts";
import { type Rule, runRules } from "./rules.ts";
import { type Env, resolveSecret } from "./secrets.ts";
import { SECRET_PATHS } from "./semantics.ts";
import { checkTextFile, TextFileError } from "./text-file.ts";
import type { SecretRef, Spec, SpecIssue, SpecPath } from "./types.ts";

interface Context {
  spec: Spec;
  /** The spec's directory: relative paths start here. */
  dir: string;
  /** The command's environment, where { env: NAME } secrets are read. */
  env: Env;
}

/**
 * Every VM's SSH host key is derived from ssh.hostKeySecret, and anyone who connects sees a
 * public host key: a short secret can be guessed offline from it, and with it every VM's
 * private host key. 16 bytes is the least; 32 random bytes leave nothing to guess.
 */
const HOST_KEY_SECRET_MIN_BYTES = 16;
const HOST_KEY_SECRET_GOOD_BYTES = 32;
const HOST_KEY_SECRET_PATH = formatPath(["ssh", "hostKeySecret"]);

function hostKeySecretIssues(path: SpecPath, value: string): SpecIssue[] {
  const bytes = Buffer.byteLength(value, "utf8");
  const hint = "generate one with: openssl rand -base64 32";
  const why = "every VM's SSH host key is derived from it";
  if (bytes < HOST_KEY_SECRET_MIN_BYTES) {
    return [specIssue("error", path, `${HOST_KEY_SECRET_PATH}: ${bytes} bytes is too short; ${why} (at least ${HOST_KEY_SECRET_MIN_BYTES} bytes, better ${HOST_KEY_SECRET_GOOD_BYTES})`, hint, false)];
  }
  if (bytes < HOST_KEY_SECRET_GOOD_BYTES) {
    return [specIssue("warning", path, `${HOST_KEY_SECRET_PATH}: ${bytes} bytes; use ${HOST_KEY_SECRET_GOOD_BYTES} or more, ${why}`, hint, false)];
  }
  return [];
}

/** A secret file that everyone on the machine may read is no secret. */
function secretFileModeIssues(path: SpecPath, file: string, dir: string): SpecIssue[] {
  const absolute = expandPath(file, dir);
  let mode: number;
  try {
    mode = checkTextFile(absolute, SECRET_MAX_BYTES).mode;
  } catch (error) {
    if (!(error instanceof TextFileError)) throw error;
    return error.unavailable ? [] : [specIssue("error", path, `${formatPath(path)}: secret file ${error.message}`, undefined, false)];
  }
  if ((mode & 0o004) === 0) return [];
  const octal = (mode & 0o777).toString(8).padStart(4, "0");
  return [specIssue("warning", path, `${formatPath(path)}: secret file ${absolute} is readable by every user (mode ${octal})`, `chmod 600 ${absolute}`, false)];
}

function secretIssues(path: SpecPath, { spec, dir, env }: Context): SpecIssue[] {
  const ref = valueAt(spec, path) as SecretRef | undefined;
  if (ref === undefined || ref === "") return []; // absent, or the empty inline secret semantics.ts reports
  if (typeof ref === "object" && "file" in ref) {
    const fileIssues = secretFileModeIssues(path, ref.file, dir);
    if (fileIssues.some((issue) => issue.severity === "error")) return fileIssues;
    return [...fileIssues, ...secretValueIssues(path, ref, dir, env)];
  }
  return secretValueIssues(path, ref, dir, env);
}

function secretValueIssues(path: SpecPath, ref: SecretRef, dir: string, env: Env): SpecIssue[] {
  let value: string;
  try {
    value = resolveSecret(ref, dir, path, env);
  } catch (error) {
    if (!(error instanceof SpecReferenceError)) throw error;
    return error.unavailable ? [] : [error.issue];
  }
  return formatPath(path) === HOST_KEY_SECRET_PATH ? hostKeySecretIssues(path, value) : [];
}

function caIssues({ spec, dir }: Context): SpecIssue[] {
  const ca = spec.proxmox.tls.ca;
  if (ca === undefined) return [];
  try {
    readCaFile(ca, dir);
  } catch (error) {
    if (!(error instanceof SpecReferenceError)) throw error;
    return error.unavailable ? [] : [error.issue];
  }
  return [];
}

const REFERENCE_RULES: Rule<Context>[] = [
  ...SECRET_PATHS.map((path): Rule<Context> => ({
    inputs: [path, [...path, "env"], [...path, "file"]],
    check: (context) => secretIssues(path, context),
  })),
  { inputs: [["proxmox", "tls", "ca"]], check: caIssues },
];

/** The problems of the secrets and CA the spec refers to, as far as they can be seen from here. */
export function referenceIssues(spec: Spec, dir: string, env: Env, broken: readonly SpecPath[] = []): SpecIssue[] {
  return runRules(REFERENCE_RULES, { spec, dir, env }, broken);
}
