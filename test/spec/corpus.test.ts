// Every file in broken/ is a small variation of valid-base.yaml whose header says what
// `validate` must report:
//   # expect: LINE:COL substring            an error at exactly that place
//   # expect-warning: LINE:COL substring    a warning at exactly that place
// The substring is matched against "message hint: hint". Nothing else may be reported.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadCluster } from "../../src/plan/load.ts";
import type { Diagnostic } from "../../src/spec/types.ts";

const BROKEN = join(import.meta.dir, "broken");

/** Every check `starbase validate` runs: YAML, schema, spec rules and the inventory's checks on derived values. */
async function diagnosticsOf(path: string): Promise<Diagnostic[]> {
  return (await loadCluster(path, process.env)).diagnostics;
}

interface Expectation {
  severity: Diagnostic["severity"];
  line: number;
  col: number;
  text: string;
}

function expectationsOf(source: string): Expectation[] {
  const found: Expectation[] = [];
  for (const match of source.matchAll(/^# (expect|expect-warning): (\d+):(\d+) (.+)$/gm)) {
    const [, tag, line, col, text] = match;
    found.push({ severity: tag === "expect" ? "error" : "warning", line: Number(line), col: Number(col), text: text ?? "" });
  }
  return found;
}

function rendered(d: Diagnostic): string {
  return d.hint === undefined ? d.message : `${d.message} hint: ${d.hint}`;
}

const files = readdirSync(BROKEN).filter((name) => name.endsWith(".yaml")).sort();

test("the corpus is large enough and every file says what it expects", () => {
  expect(files.length).toBeGreaterThanOrEqual(45);
  for (const name of files) expect(expectationsOf(readFileSync(join(BROKEN, name), "utf8")).length).toBeGreaterThan(0);
});

test("the base of the corpus is valid", async () => {
  expect(await diagnosticsOf(join(import.meta.dir, "valid-base.yaml"))).toEqual([]);
});

describe("broken specs report exactly the expected diagnostics", () => {
  for (const name of files) {
    test(name, async () => {
      const path = join(BROKEN, name);
      const expectations = expectationsOf(readFileSync(path, "utf8"));
      const unmatched = [...(await diagnosticsOf(path))];
      const missing: Expectation[] = [];
      for (const wanted of expectations) {
        const index = unmatched.findIndex(
          (d) => d.severity === wanted.severity && d.line === wanted.line && d.col === wanted.col && rendered(d).includes(wanted.text),
        );
        if (index < 0) missing.push(wanted);
        else unmatched.splice(index, 1);
      }
      const unexpected = unmatched.map((d) => `${d.line}:${d.col} ${d.severity}: ${rendered(d)}`);
      expect({ missing, unexpected }).toEqual({ missing: [], unexpected: [] });
      for (const d of await diagnosticsOf(path)) expect(d.file).toBe(path);
    });
  }
});
