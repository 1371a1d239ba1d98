import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { byPosition, formatDiagnostic, toDiagnostic } from "../../src/spec/diagnostics.ts";
import { loadSpecFile } from "../../src/spec/load.ts";
import type { Diagnostic } from "../../src/spec/types.ts";
import { validateSpecFile } from "../../src/spec/validate.ts";

const BASE = join(import.meta.dir, "valid-base.yaml");

describe("formatDiagnostic", () => {
  test("FILE:LINE:COL: severity: message", () => {
    expect(formatDiagnostic({ severity: "error", file: "c.yaml", line: 12, col: 7, message: "network.cidr: bad" })).toBe("c.yaml:12:7: error: network.cidr: bad");
  });

  test("the hint goes on its own indented line", () => {
    expect(formatDiagnostic({ severity: "warning", file: "c.yaml", line: 1, col: 2, message: "m", hint: "h" })).toBe("c.yaml:1:2: warning: m\n  hint: h");
  });
});

describe("toDiagnostic", () => {
  test("positions an issue with the loaded file's positions", async () => {
    const loaded = await loadSpecFile(BASE);
    expect(toDiagnostic(loaded, { severity: "warning", path: ["nodes", "agents", "ipStart"], message: "m", hint: "h" })).toEqual({
      severity: "warning",
      file: BASE,
      line: 28,
      col: 14,
      message: "m",
      hint: "h",
    });
    expect(toDiagnostic(loaded, { severity: "error", path: ["nodes", "agents", "ipStart"], message: "m", key: true })).toMatchObject({ line: 28, col: 5 });
  });
});

describe("byPosition", () => {
  test("orders by line, column, then errors before warnings", () => {
    const d = (line: number, col: number, severity: Diagnostic["severity"]): Diagnostic => ({ severity, file: "f", line, col, message: "" });
    const sorted = [d(3, 1, "error"), d(1, 5, "warning"), d(1, 5, "error"), d(1, 2, "warning")].sort(byPosition);
    expect(sorted.map((x) => `${x.line}:${x.col}:${x.severity}`)).toEqual(["1:2:warning", "1:5:error", "1:5:warning", "3:1:error"]);
  });
});

describe("validateSpecFile", () => {
  test("issues of extra providers are positioned and sorted in with the rest", async () => {
    const diagnostics = await validateSpecFile(join(import.meta.dir, "broken", "many-semantic-errors.yaml"), [
      (spec) => [{ severity: "error", path: ["nodes", "agents", "count"], message: `agents: ${spec.nodes.agents?.count}` }],
    ]);
    expect(diagnostics.map((x) => `${x.line}:${x.severity}`)).toEqual(["7:error", "13:error", "21:error", "29:warning", "31:error", "33:error"]);
    expect(diagnostics[5]).toMatchObject({ col: 12, message: "agents: 2" });
  });

  test("providers are not asked about a spec that failed the schema", async () => {
    let asked = false;
    const diagnostics = await validateSpecFile(join(import.meta.dir, "broken", "type-cores-word.yaml"), [
      () => {
        asked = true;
        return [];
      },
    ]);
    expect(asked).toBe(false);
    expect(diagnostics).toHaveLength(1);
  });
});
