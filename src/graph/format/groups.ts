import type { StepKind, StepNode } from "../types.ts";

export interface KindGroup {
  kind: StepKind;
  steps: StepNode[];
}

/** Steps grouped by kind; groups in order of their first step, steps in the given order. */
export function groupByKind(steps: readonly StepNode[]): KindGroup[] {
  const groups = new Map<StepKind, StepNode[]>();
  for (const step of steps) {
    const group = groups.get(step.kind);
    if (group) group.push(step);
    else groups.set(step.kind, [step]);
  }
  return [...groups].map(([kind, members]) => ({ kind, steps: members }));
}
