import { describe, expect, test } from "bun:test";
import { formatGraph, graphFormats, isGraphFormat } from "../../src/graph/format.ts";
import type { StepNode } from "../../src/graph/types.ts";

// Declared out of order on purpose: every format must show the steps in dependency order.
const steps: StepNode[] = [
  { id: "vm:lb01", kind: "vm", host: "lb01", pveNode: "node01", needs: ["image:node01", "seed:lb01"], limits: ["vm-create:node01"] },
  { id: "image:node01", kind: "image", pveNode: "node01", needs: [] },
  { id: "seed:lb01", kind: "seed", host: "lb01", pveNode: "node01", needs: [] },
  { id: "boot:lb01", kind: "boot", host: "lb01", pveNode: "node01", needs: ["vm:lb01"] },
  { id: "kubeconfig", kind: "kubeconfig", needs: ["boot:lb01"] },
  { id: 'odd"name\\', kind: "kured", needs: ["boot:lb01"] },
];

function run(cmd: string[], stdin: string) {
  const proc = Bun.spawnSync(cmd, { stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  return { rc: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

describe("formatGraph", () => {
  test("knows exactly its four formats", () => {
    expect([...graphFormats]).toEqual(["text", "dot", "mermaid", "json"]);
    expect(isGraphFormat("dot")).toBe(true);
    expect(isGraphFormat("svg")).toBe(false);
  });

  test("json: {steps} in topological order, optional fields only when set", () => {
    const parsed = JSON.parse(formatGraph(steps, "json"));
    expect(parsed.steps.map((s: StepNode) => s.id)).toEqual([
      "image:node01",
      "seed:lb01",
      "vm:lb01",
      "boot:lb01",
      "kubeconfig",
      'odd"name\\',
    ]);
    expect(parsed.steps[0]).toEqual({ id: "image:node01", kind: "image", pveNode: "node01", needs: [] });
    expect(parsed.steps[2]).toEqual({
      id: "vm:lb01",
      kind: "vm",
      host: "lb01",
      pveNode: "node01",
      needs: ["image:node01", "seed:lb01"],
      limits: ["vm-create:node01"],
    });
    expect(parsed.steps[4]).toEqual({ id: "kubeconfig", kind: "kubeconfig", needs: ["boot:lb01"] });
  });

  test("text: one block per kind, needs and limits on the step's line", () => {
    const text = formatGraph(steps, "text");
    const blocks = text.trimEnd().split("\n\n");
    expect(blocks.map((b) => b.split("\n")[0])).toEqual([
      "image (1)",
      "seed (1)",
      "vm (1)",
      "boot (1)",
      "kubeconfig (1)",
      "kured (1)",
    ]);
    expect(text).toContain("  image:node01  needs nothing\n");
    expect(text).toContain("  vm:lb01  needs image:node01, seed:lb01  limit vm-create:node01\n");
  });

  test("dot: Graphviz accepts it, with an edge from each need to its step", () => {
    const dot = formatGraph(steps, "dot");
    expect(dot).toContain('"image:node01" -> "vm:lb01";');
    expect(dot).toContain('"seed:lb01" -> "vm:lb01";');
    expect(dot).toContain('subgraph "cluster_vm"');
    const svg = run(["dot", "-Tsvg"], dot);
    expect(svg.stderr).toBe("");
    expect(svg.rc).toBe(0);
    expect(svg.stdout).toContain("<svg");
    // Graphviz saw every step and every edge: 6 nodes, 5 edges.
    expect(svg.stdout.match(/class="node"/g)).toHaveLength(6);
    expect(svg.stdout.match(/class="edge"/g)).toHaveLength(5);
    expect(svg.stdout).toContain("odd&quot;name\\");
  });

  test("mermaid: a flowchart with one subgraph per kind and labelled nodes", () => {
    const mermaid = formatGraph(steps, "mermaid");
    const lines = mermaid.trimEnd().split("\n");
    expect(lines[0]).toBe("flowchart LR");
    expect(lines.filter((l) => l.trim().startsWith("subgraph "))).toHaveLength(6);
    expect(lines.filter((l) => l.trim() === "end")).toHaveLength(6);
    const nodeLabel = new Map<string, string>();
    for (const line of lines) {
      const m = /^ {4}(s\d+)\["(.*)"\]$/.exec(line);
      if (m) nodeLabel.set(m[1]!, m[2]!);
    }
    expect([...nodeLabel.values()]).toContain("odd#quot;name\\");
    const edges = lines
      .map((l) => /^ {2}(s\d+) --> (s\d+)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => `${nodeLabel.get(m[1]!)} -> ${nodeLabel.get(m[2]!)}`);
    expect(edges.sort()).toEqual(
      [
        "image:node01 -> vm:lb01",
        "seed:lb01 -> vm:lb01",
        "vm:lb01 -> boot:lb01",
        "boot:lb01 -> kubeconfig",
        "boot:lb01 -> odd#quot;name\\",
      ].sort(),
    );
  });

  test("every format refuses a graph with a cycle", () => {
    const cyclic: StepNode[] = [
      { id: "a", kind: "boot", needs: ["b"] },
      { id: "b", kind: "boot", needs: ["a"] },
    ];
    for (const format of graphFormats) expect(() => formatGraph(cyclic, format)).toThrow("dependency cycle");
  });
});
