import type { StepNode } from "./types.ts";

/** Why a list of steps is not a DAG. Collected, not thrown, so every problem is reported at once. */
export type GraphProblem =
  | { kind: "duplicate"; step: string; message: string }
  | { kind: "unknown-need"; step: string; need: string; message: string }
  | { kind: "cycle"; cycle: string[]; message: string };

/** What a graph check needs of a step: its id and what it needs. */
export type Vertex = Pick<StepNode, "id" | "needs">;

export function graphProblems(steps: readonly Vertex[]): GraphProblem[] {
  const problems: GraphProblem[] = [];
  const byId = new Map<string, Vertex>();
  for (const step of steps) {
    if (byId.has(step.id)) {
      problems.push({ kind: "duplicate", step: step.id, message: `step ${step.id} is declared twice` });
    } else {
      byId.set(step.id, step);
    }
  }
  for (const step of steps) {
    for (const need of step.needs) {
      if (!byId.has(need)) {
        problems.push({
          kind: "unknown-need",
          step: step.id,
          need,
          message: `step ${step.id} needs ${need}, which does not exist`,
        });
      }
    }
  }
  for (const cycle of findCycles(byId)) {
    problems.push({ kind: "cycle", cycle, message: `dependency cycle: ${cycle.join(" → ")}` });
  }
  return problems;
}

/**
 * One named cycle per back edge met in a depth-first walk, each closed on its first
 * step (a → b → a). Iterative so that a long chain cannot overflow the stack.
 */
function findCycles(byId: ReadonlyMap<string, Vertex>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, "open" | "done">();
  for (const root of byId.keys()) {
    if (state.has(root)) continue;
    const path: string[] = [root];
    const nextNeed: number[] = [0];
    state.set(root, "open");
    while (path.length > 0) {
      const top = path.length - 1;
      const id = path[top]!;
      const needs = byId.get(id)?.needs ?? [];
      const i = nextNeed[top]!;
      if (i >= needs.length) {
        state.set(id, "done");
        path.pop();
        nextNeed.pop();
        continue;
      }
      nextNeed[top] = i + 1;
      const need = needs[i]!;
      if (!byId.has(need)) continue;
      const seen = state.get(need);
      if (seen === "open") {
        cycles.push([...path.slice(path.indexOf(need)), need]);
      } else if (seen === undefined) {
        state.set(need, "open");
        path.push(need);
        nextNeed.push(0);
      }
    }
  }
  return cycles;
}

export class GraphError extends Error {
  constructor(readonly problems: GraphProblem[]) {
    super(problems.map((p) => p.message).join("\n"));
    this.name = "GraphError";
  }
}
