// Running starbase into a pipe whose reader has gone (`starbase plan … | head -1`).
import { expect } from "bun:test";
import { closeSync, constants, openSync } from "node:fs";
import { join } from "node:path";
import { cleanEnv, repo, withTempDir } from "./run-starbase.ts";

/**
 * The write end of a pipe whose reader has already gone: a FIFO opened for reading, then for
 * writing, then closed for reading. Unlike `cmd | true`, there is no race with the reader.
 */
function closedPipe(dir: string): number {
  const fifo = join(dir, "fifo");
  if (Bun.spawnSync(["mkfifo", fifo]).exitCode !== 0) throw new Error("mkfifo failed");
  const reader = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(fifo, constants.O_WRONLY);
  closeSync(reader);
  return writer;
}

/** Runs starbase (or `binary`) with stdout or stderr on a closed pipe. */
export function intoClosedPipe(args: string[], which: "stdout" | "stderr", binary?: string): Promise<{ rc: number | null; other: string }> {
  return withTempDir((dir) => {
    const pipe = closedPipe(dir);
    try {
      const cmd = binary === undefined ? [process.execPath, join(repo, "src", "main.ts"), ...args] : [binary, ...args];
      const proc = Bun.spawnSync(cmd, {
        cwd: repo,
        env: cleanEnv({ STARBASE_HOSTKEY_SECRET: "closed-pipe-test" }),
        stdout: which === "stdout" ? pipe : "pipe",
        stderr: which === "stderr" ? pipe : "pipe",
      });
      const other = (which === "stdout" ? proc.stderr : proc.stdout)?.toString() ?? "";
      return { rc: proc.exitCode, other };
    } finally {
      closeSync(pipe);
    }
  });
}

/** No stack trace, no EPIPE report: what a user would see on the terminal. */
export function expectQuiet(text: string): void {
  expect(text).not.toContain("EPIPE");
  expect(text).not.toMatch(/^\s+at /m);
  expect(text).not.toContain("internal error");
}
