import type { StepNode } from "../types.ts";

export interface KindGroup {
  kind: string;
  steps: StepNode[];
}

/** Steps grouped by kind; groups in order of their first step, steps in the given order. */
export function groupByKind(steps: readonly StepNode[]): KindGroup[] {
  const groups = new Map<string, StepNode[]>();
  for (const step of steps) {
    const group = groups.get(step.kind);
    if (group) group.push(step);
    else groups.set(step.kind, [step]);
  }
  return [...groups].map(([kind, members]) => ({ kind, steps: members }));
}
