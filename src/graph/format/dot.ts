import type { StepNode } from "../types.ts";
import { groupByKind } from "./groups.ts";

/** Graphviz: one cluster per kind, an edge from each need to the step that needs it. */
export function formatDot(steps: readonly StepNode[]): string {
  const lines = ["digraph steps {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];'];
  for (const group of groupByKind(steps)) {
    lines.push(`  subgraph ${quote(`cluster_${group.kind}`)} {`);
    lines.push(`    label=${quote(group.kind)};`);
    for (const step of group.steps) lines.push(`    ${quote(step.id)};`);
    lines.push("  }");
  }
  for (const step of steps) {
    for (const need of step.needs) lines.push(`  ${quote(need)} -> ${quote(step.id)};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

function quote(s: string): string {
  return `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
}
