import type { StepNode } from "../types.ts";
import { groupByKind } from "./groups.ts";

/**
 * Mermaid flowchart: one subgraph per kind. Step ids contain ":" and "-", which Mermaid
 * does not accept as node ids, so nodes get positional ids and the step id as label.
 */
export function formatMermaid(steps: readonly StepNode[]): string {
  const nodeId = new Map(steps.map((step, i) => [step.id, `s${i}`]));
  const lines = ["flowchart LR"];
  groupByKind(steps).forEach((group, g) => {
    lines.push(`  subgraph k${g}[${label(group.kind)}]`);
    for (const step of group.steps) lines.push(`    ${nodeId.get(step.id)}[${label(step.id)}]`);
    lines.push("  end");
  });
  for (const step of steps) {
    for (const need of step.needs) lines.push(`  ${nodeId.get(need)} --> ${nodeId.get(step.id)}`);
  }
  return lines.join("\n") + "\n";
}

function label(s: string): string {
  return `"${s.replace(/"/g, "#quot;")}"`;
}
