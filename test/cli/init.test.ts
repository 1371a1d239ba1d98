import { describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { jsonLines, starbase, withTempDir } from "./run-starbase.ts";

describe("init", () => {
  test("prints a commented starter that validates without warnings", async () => {
    const run = starbase(["init"]);
    expect(run.rc).toBe(0);
    expect(run.stdout).toMatch(/^# /);
    expect(run.stdout.split("\n").filter((l) => l.trimStart().startsWith("#")).length).toBeGreaterThan(20);
    expect(starbase(["init", "-"]).stdout).toBe(run.stdout);
    await withTempDir((dir) => {
      const file = join(dir, "cluster.yaml");
      writeFileSync(file, run.stdout);
      const validated = starbase(["validate", file]);
      expect(validated.stderr).toBe("");
      expect(validated.rc).toBe(0);
      expect(validated.stdout).toContain("0 errors, 0 warnings");
    });
  });

  test("writes FILE, and refuses to overwrite it", async () => {
    await withTempDir((dir) => {
      const file = join(dir, "cluster.yaml");
      const first = starbase(["init", file]);
      expect(first.rc).toBe(0);
      expect(first.stdout).toBe("");
      expect(readFileSync(file, "utf8")).toBe(starbase(["init"]).stdout);
      expect(statSync(file).mode & 0o777).toBe(0o644);

      writeFileSync(file, "name: mine\n");
      const second = starbase(["init", file]);
      expect(second.rc).toBe(1);
      expect(second.stderr).toContain(`${file} exists; not overwriting it`);
      expect(readFileSync(file, "utf8")).toBe("name: mine\n");
    });
  });

  test("--output json: the content as one event, or where it was written", async () => {
    const [event] = jsonLines(starbase(["init", "--output", "json"]).stdout);
    expect(event).toEqual({ type: "init", content: starbase(["init"]).stdout });
    await withTempDir((dir) => {
      const file = join(dir, "c.yaml");
      expect(jsonLines(starbase(["init", file, "--output", "json"]).stdout)).toEqual([{ type: "init", file, written: true }]);
    });
  });
});
