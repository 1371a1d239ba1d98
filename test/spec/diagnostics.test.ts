import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { byPosition, formatDiagnostic, toDiagnostic } from "../../src/spec/diagnostics.ts";
import { loadSpecFile } from "../../src/spec/load.ts";
import type { Diagnostic } from "../../src/spec/types.ts";
import { loadCluster } from "../../src/plan/load.ts";

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

describe("loadCluster", () => {
  test("spec and inventory issues are positioned and sorted together", async () => {
    const { diagnostics, inventory } = await loadCluster(join(import.meta.dir, "broken", "many-semantic-errors.yaml"), process.env);
    expect(diagnostics.length).toBeGreaterThan(1);
    expect([...diagnostics].sort(byPosition)).toEqual(diagnostics);
    expect(inventory).toBeUndefined();
  });

  test("a spec that failed the schema still gets the semantic checks its broken values do not hide", async () => {
    const { diagnostics, spec, inventory } = await loadCluster(join(import.meta.dir, "broken", "schema-and-duplicate-ip.yaml"), process.env);
    expect(diagnostics.map((d) => d.message)).toEqual([
      "nodes.servers.vm.cores: must be an integer ≥ 1, got \"four\"",
      "server01 has ip 10.0.20.21, already used by lb01",
    ]);
    expect(spec).toBeUndefined();
    expect(inventory).toBeUndefined();
  });
});
