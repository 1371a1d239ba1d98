import { type StepNode, stepRef } from "../types.ts";

/** A step as `graph --format json` and `plan --output json` show it (design.md §3). */
export interface StepJson {
  id: string;
  kind: string;
  host?: string;
  pveNode?: string;
  needs: string[];
  limits?: string[];
}

export function stepJson(step: StepNode): StepJson {
  return {
    ...stepRef(step),
    needs: [...step.needs],
    ...(step.limits !== undefined && step.limits.length > 0 && { limits: [...step.limits] }),
  };
}

export function formatJson(steps: readonly StepNode[]): string {
  return JSON.stringify({ steps: steps.map(stepJson) }) + "\n";
}
