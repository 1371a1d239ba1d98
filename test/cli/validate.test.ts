import { describe, expect, test } from "bun:test";
import { exampleFile, jsonLines, starbase, withTempDir, writeEditedExample } from "./run-starbase.ts";

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
    expect(run.stderr).toContain("/nonexistent/cluster.yaml:1:1: error: cannot read /nonexistent/cluster.yaml: no such file");
  });
});
