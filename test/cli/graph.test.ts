import { describe, expect, test } from "bun:test";
import { exampleFile, jsonLines, starbase } from "./run-starbase.ts";

describe("graph", () => {
  test("default text: grouped by kind, with needs", () => {
    const run = starbase(["graph", exampleFile]);
    expect(run.rc).toBe(0);
    expect(run.stdout).toStartWith("image (3)\n");
    expect(run.stdout).toMatch(/^server-rest \(5\)$/m);
    expect(run.stdout).toMatch(/^ {2}lb-first:lb01 +needs boot:lb01$/m);
  });

  test("--format dot renders with Graphviz", () => {
    const run = starbase(["graph", exampleFile, "--format", "dot"]);
    expect(run.rc).toBe(0);
    const svg = Bun.spawnSync(["dot", "-Tsvg"], { stdin: new TextEncoder().encode(run.stdout), stdout: "pipe", stderr: "pipe" });
    expect(svg.stderr.toString()).toBe("");
    expect(svg.exitCode).toBe(0);
    expect(svg.stdout.toString().match(/class="node"/g)).toHaveLength(49);
  });

  test("--format mermaid is a flowchart", () => {
    const run = starbase(["graph", exampleFile, "--format=mermaid"]);
    expect(run.rc).toBe(0);
    expect(run.stdout).toStartWith("flowchart LR\n");
  });

  test("--phase cluster drops the infra steps", () => {
    const { steps } = JSON.parse(starbase(["graph", exampleFile, "--format", "json", "--phase", "cluster"]).stdout);
    expect(steps.some((s: { kind: string }) => s.kind === "image")).toBe(false);
    expect(steps[0]).toEqual({ id: "boot:lb01", kind: "boot", host: "lb01", pveNode: "node01", needs: [] });
  });

  test("--output json: one graph object, the steps of --format json", () => {
    const run = starbase(["graph", exampleFile, "--output", "json"]);
    expect(run.rc).toBe(0);
    const events = jsonLines(run.stdout);
    expect(events).toHaveLength(1);
    expect(events[0]).toEqual({ type: "graph", ...JSON.parse(starbase(["graph", exampleFile, "--format", "json"]).stdout) });
  });

  test("--output json with --format dot: the dot text inside the object", () => {
    const events = jsonLines(starbase(["graph", exampleFile, "--output", "json", "--format", "dot"]).stdout);
    expect(events).toHaveLength(1);
    expect(events[0]!.format).toBe("dot");
    expect(events[0]!.graph as string).toStartWith("digraph steps {");
  });
});
