import { describe, expect, test } from "bun:test";
import { PassThrough } from "node:stream";
import { Output, type Terminal } from "../../src/cli/output.ts";

function terminal(isTTY: boolean, env: Record<string, string> = {}) {
  const written = { stdout: "", stderr: "" };
  const term: Terminal = {
    stdin: new PassThrough(),
    stdout: { isTTY, write: (s: string) => (written.stdout += s) },
    stderr: { isTTY, write: (s: string) => (written.stderr += s) },
    env: { TERM: "xterm-256color", ...env },
  };
  return { term, written };
}

describe("Output", () => {
  test("colours on a terminal", () => {
    const { term, written } = terminal(true);
    const out = new Output(term, "text");
    out.error("boom");
    out.result(out.outStyle.green("ok") + "\n");
    expect(written.stderr).toContain("\u001b[31mboom");
    expect(written.stdout).toContain("\u001b[32mok");
  });

  test("no colour when NO_COLOR is set, even on a terminal", () => {
    const { term, written } = terminal(true, { NO_COLOR: "1" });
    const out = new Output(term, "text");
    out.error("boom");
    out.result(out.outStyle.green("ok") + "\n");
    expect(written).toEqual({ stdout: "ok\n", stderr: "boom\n" });
  });

  test("an empty NO_COLOR does not count (no-color.org)", () => {
    const { term, written } = terminal(true, { NO_COLOR: "" });
    new Output(term, "text").error("boom");
    expect(written.stderr).toContain("\u001b[");
  });

  test("no colour when the stream is not a terminal, decided per stream", () => {
    const { term, written } = terminal(false);
    term.stderr.isTTY = true;
    const out = new Output(term, "text");
    out.result(out.outStyle.green("ok") + "\n");
    out.message(out.errStyle.bold("note"));
    expect(written.stdout).toBe("ok\n");
    expect(written.stderr).toContain("\u001b[1mnote");
  });

  test("JSON mode: stdout carries events only, human text still goes to stderr", () => {
    const { term, written } = terminal(false);
    const out = new Output(term, "json");
    out.result("a table for humans\n");
    out.event({ type: "x", n: 1 });
    out.error("went wrong");
    expect(written.stdout).toBe('{"type":"x","n":1}\n{"type":"error","message":"went wrong"}\n');
    expect(written.stderr).toBe("went wrong\n");
  });

  test("text mode prints no events", () => {
    const { term, written } = terminal(false);
    new Output(term, "text").event({ type: "x" });
    expect(written.stdout).toBe("");
  });
});
