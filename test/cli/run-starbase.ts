import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const repo = join(import.meta.dir, "..", "..");
export const exampleFile = join(repo, "examples", "cluster.yaml");
export const exampleText = readFileSync(exampleFile, "utf8");

export interface RunResult {
  rc: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of the test run without anything that changes starbase's output. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !["NO_COLOR", "FORCE_COLOR", "STARBASE_HOSTKEY_SECRET"].includes(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

/** Runs the real entry point (`bun src/main.ts`), or `binary` when given, as a subprocess. */
export function starbase(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; binary?: string; timeoutMs?: number } = {},
): RunResult {
  const cmd = opts.binary ? [opts.binary, ...args] : [process.execPath, join(repo, "src", "main.ts"), ...args];
  const proc = Bun.spawnSync(cmd, {
    cwd: opts.cwd ?? repo,
    env: opts.env ?? cleanEnv(),
    stdout: "pipe",
    stderr: "pipe",
    ...(opts.timeoutMs !== undefined && { timeout: opts.timeoutMs }),
  });
  return { rc: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

/** A scratch directory removed after `use` returns. */
export async function withTempDir<T>(use: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), "starbase-cli-"));
  try {
    return await use(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes the example with `edit` applied into `dir`; throws when an edit does not apply. */
export function writeEditedExample(dir: string, name: string, edits: [string, string][]): string {
  let text = exampleText;
  for (const [from, to] of edits) {
    if (!text.includes(from)) throw new Error(`examples/cluster.yaml no longer contains ${JSON.stringify(from)}`);
    text = text.replace(from, to);
  }
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** JSON lines on stdout, each parsed; fails the test on any line that is not JSON. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

// ESC, the start of every ANSI colour sequence.
export const ANSI = "\u001b[";
