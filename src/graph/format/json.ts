import type { StepNode } from "../types.ts";

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
    id: step.id,
    kind: step.kind,
    ...(step.host !== undefined && { host: step.host }),
    ...(step.pveNode !== undefined && { pveNode: step.pveNode }),
    needs: [...step.needs],
    ...(step.limits !== undefined && step.limits.length > 0 && { limits: [...step.limits] }),
  };
}

export function formatJson(steps: readonly StepNode[]): string {
  return JSON.stringify({ steps: steps.map(stepJson) }) + "\n";
}
