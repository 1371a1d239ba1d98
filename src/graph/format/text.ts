import type { StepNode } from "../types.ts";
import { groupByKind } from "./groups.ts";

/**
 * One block per kind, one line per step with what it needs and the limits it holds:
 *
 *   vm (2)
 *     vm:lb01  needs image:node01, seed:lb01  limit vm-create:node01
 */
export function formatText(steps: readonly StepNode[]): string {
  const lines: string[] = [];
  for (const group of groupByKind(steps)) {
    if (lines.length > 0) lines.push("");
    lines.push(`${group.kind} (${group.steps.length})`);
    const width = Math.max(...group.steps.map((s) => s.id.length));
    for (const step of group.steps) {
      const parts = [step.id.padEnd(width)];
      parts.push(step.needs.length > 0 ? `needs ${step.needs.join(", ")}` : "needs nothing");
      if (step.limits && step.limits.length > 0) parts.push(`limit ${step.limits.join(", ")}`);
      lines.push(`  ${parts.join("  ")}`);
    }
  }
  return lines.join("\n") + "\n";
}
