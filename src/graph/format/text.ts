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
    const needs = group.steps.map((s) => (s.needs.length > 0 ? `needs ${s.needs.join(", ")}` : "needs nothing"));
    const idWidth = Math.max(...group.steps.map((s) => s.id.length));
    const needsWidth = Math.max(...needs.map((n) => n.length));
    group.steps.forEach((step, i) => {
      const limits = step.limits && step.limits.length > 0 ? `  limit ${step.limits.join(", ")}` : "";
      const needsText = limits ? needs[i]!.padEnd(needsWidth) : needs[i]!;
      lines.push(`  ${step.id.padEnd(idWidth)}  ${needsText}${limits}`);
    });
  }
  return lines.join("\n") + "\n";
}
