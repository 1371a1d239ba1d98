import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exampleFile, exampleText, jsonLines, starbase, withTempDir, writeEditedExample } from "./run-starbase.ts";

const DIAGNOSTIC = /^(.+):(\d+):(\d+): (error|warning): (.+)$/;

function diagnosticLines(stderr: string) {
  return stderr
    .split("\n")
    .map((line) => DIAGNOSTIC.exec(line))
    .filter((m) => m !== null)
    .map((m) => ({ file: m[1]!, line: Number(m[2]), col: Number(m[3]), severity: m[4]!, message: m[5]! }));
}

/** 1-based line of the first line containing `text`. */
function lineOf(fileText: string, text: string): number {
  const index = fileText.split("\n").findIndex((line) => line.includes(text));
  if (index < 0) throw new Error(`${text} not found`);
  return index + 1;
}

describe("validate", () => {
  test("the example is valid: exit 0, its warnings printed as FILE:LINE:COL", () => {
    const run = starbase(["validate", exampleFile]);
    expect(run.rc).toBe(0);
    expect(run.stdout).toContain(`${exampleFile}: valid`);
    const diagnostics = diagnosticLines(run.stderr);
    expect(diagnostics.length).toBeGreaterThan(0);
    for (const d of diagnostics) expect(d).toMatchObject({ file: exampleFile, severity: "warning" });
  });

  test("a schema error: exit 2, FILE:LINE:COL at the offending value", async () => {
    await withTempDir(async (dir) => {
      const file = writeEditedExample(dir, "broken.yaml", [
        ["vm: { cores: 4, memory: 8192, disk: 50, vmidStart: 210 }", "vm: { cores: four, memory: 8192, disk: 50, vmidStart: 210 }"],
      ]);
      const fileText = await Bun.file(file).text();
      const run = starbase(["validate", file]);
      expect(run.rc).toBe(2);
      const errors = diagnosticLines(run.stderr).filter((d) => d.severity === "error");
      expect(errors).toHaveLength(1);
      const line = lineOf(fileText, "cores: four");
      expect(errors[0]).toMatchObject({ file, line, col: fileText.split("\n")[line - 1]!.indexOf("four") + 1 });
      expect(run.stderr).toContain(`${file}: invalid (1 error, `);
    });
  });

  test("semantic errors: duplicate IP and VIP outside the network, each at its line", async () => {
    await withTempDir(async (dir) => {
      const file = writeEditedExample(dir, "broken.yaml", [
        ["{ name: server02, ip: 10.0.20.32 }", "{ name: server02, ip: 10.0.20.31 }"],
        ["vip: 10.0.20.10", "vip: 10.0.99.10"],
      ]);
      const fileText = await Bun.file(file).text();
      const run = starbase(["validate", file]);
      expect(run.rc).toBe(2);
      const errors = diagnosticLines(run.stderr).filter((d) => d.severity === "error");
      const lines = errors.map((d) => d.line);
      expect(lines).toContain(lineOf(fileText, "name: server02, ip: 10.0.20.31"));
      expect(lines).toContain(lineOf(fileText, "vip: 10.0.99.10"));
      // In file order.
      expect(lines).toEqual([...lines].sort((a, b) => a - b));
    });
  });

  test("--output json: one event per diagnostic, then a summary; nothing else on stdout", async () => {
    await withTempDir(async (dir) => {
      const file = writeEditedExample(dir, "broken.yaml", [["vip: 10.0.20.10", "vip: 10.0.99.10"]]);
      const run = starbase(["validate", file, "--output", "json"]);
      expect(run.rc).toBe(2);
      const events = jsonLines(run.stdout);
      const diagnostics = events.filter((e) => e.type === "diagnostic");
      expect(diagnostics.length).toBe(diagnosticLines(run.stderr).length);
      for (const d of diagnostics) {
        // (no asymmetric matcher inside toMatchObject: Bun 1.4 writes it into the received object)
        expect(d.file).toBe(file);
        expect(["error", "warning"]).toContain(d.severity as string);
        expect(d.line).toBeGreaterThan(0);
        expect(d.col).toBeGreaterThan(0);
      }
      expect(events.at(-1)).toEqual({
        type: "summary",
        valid: false,
        errors: diagnostics.filter((d) => d.severity === "error").length,
        warnings: diagnostics.filter((d) => d.severity === "warning").length,
      });
    });
  });

  test("a file that cannot be read: exit 1, message names it", () => {
    const run = starbase(["validate", "/nonexistent/cluster.yaml"]);
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("/nonexistent/cluster.yaml:1:1: error: /nonexistent/cluster.yaml does not exist");
  });

  test("a FIFO, /dev/zero, a file over 1 MiB or a UTF-16 file fails at once (exit 1) and says what it is", async () => {
    await withTempDir((dir) => {
      const fifo = join(dir, "cluster.yaml");
      expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
      const utf16 = join(dir, "utf16.yaml");
      writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(exampleText, "utf16le")]));
      const huge = join(dir, "huge.yaml");
      writeFileSync(huge, `${exampleText}\n${"#".repeat(2 * 1024 * 1024)}\n`);
      const cases: [string, string][] = [
        [fifo, `${fifo}:1:1: error: ${fifo} is a named pipe (FIFO), not a regular file`],
        [huge, `${huge}:1:1: error: ${huge} is 2.0 MiB, more than the 1 MiB starbase reads`],
        ["/dev/zero", "/dev/zero:1:1: error: /dev/zero is a character device, not a regular file"],
        [utf16, `${utf16}:1:1: error: ${utf16} is UTF-16; save it as UTF-8`],
      ];
      for (const [file, message] of cases) {
        // Before the size cap and type check, the FIFO blocked the read and /dev/zero grew without bound.
        const run = starbase(["validate", file], { timeoutMs: 20_000 });
        expect({ rc: run.rc, stderr: run.stderr.split("\n")[0] }).toEqual({ rc: 1, stderr: message });
      }
    });
  });
});
