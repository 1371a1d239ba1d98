import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface ToolResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a real tool and returns its exit code and output (never throws on a non-zero exit). */
export function runTool(argv: string[], options: { cwd?: string; env?: Record<string, string> } = {}): ToolResult {
  const result = Bun.spawnSync(argv, { cwd: options.cwd, env: options.env ?? process.env, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** A fresh scratch directory; remove it with removeScratch. */
export function makeScratch(label: string): string {
  return mkdtempSync(join(tmpdir(), `sbrnd-${label}-`));
}

export function removeScratch(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
