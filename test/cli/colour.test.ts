import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ANSI, cleanEnv, exampleFile, repo, starbase } from "./run-starbase.ts";

/** Runs starbase on a pseudo-terminal (util-linux `script`), so stdout and stderr are TTYs. */
function onTerminal(args: string[], env: Record<string, string>): string {
  const command = [process.execPath, join(repo, "src", "main.ts"), ...args].map((a) => `'${a}'`).join(" ");
  const proc = Bun.spawnSync(["script", "-qec", command, "/dev/null"], { env, stdout: "pipe", stderr: "pipe" });
  return proc.stdout.toString();
}

describe("colour", () => {
  const args = ["validate", exampleFile];

  test("on a terminal, warnings and the verdict are coloured", () => {
    const output = onTerminal(args, cleanEnv({ TERM: "xterm" }));
    expect(output).toContain("warning:");
    expect(output).toContain(ANSI);
  });

  test("NO_COLOR turns colour off even on a terminal", () => {
    const output = onTerminal(args, cleanEnv({ TERM: "xterm", NO_COLOR: "1" }));
    expect(output).toContain("warning:");
    expect(output).not.toContain(ANSI);
  });

  test("no colour when output is not a terminal", () => {
    for (const run of [starbase(args), starbase(["plan", exampleFile, "--offline"]), starbase(["help"]), starbase(["nope"])]) {
      expect(run.stdout + run.stderr).not.toContain(ANSI);
    }
  });
});
