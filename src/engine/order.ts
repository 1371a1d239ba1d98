// The engine checks the shape of the graph itself before walking it: graph/ is
// a sibling on floor 0 whose utilities serve plan/, and the engine must accept
// any list of steps without trusting that it went through them.

import type { StepNode } from "../graph/types.ts";
import { InvalidGraphError } from "./errors.ts";

type Vertex = Pick<StepNode, "id" | "needs">;

/**
 * Ids in an order where every step comes after all it needs; among steps that
 * are free at the same time, input order wins. Throws InvalidGraphError.
 */
export function topologicalOrder(steps: readonly Vertex[]): string[] {
  const byId = new Map<string, Vertex>();
  for (const step of steps) {
    if (byId.has(step.id)) throw new InvalidGraphError(`duplicate step id ${step.id}`);
    byId.set(step.id, step);
  }
  const unmet = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const step of steps) {
    const needs = new Set(step.needs);
    for (const need of needs) {
      if (!byId.has(need)) throw new InvalidGraphError(`step ${step.id} needs unknown step ${need}`);
      const list = dependents.get(need) ?? [];
      list.push(step.id);
      dependents.set(need, list);
    }
    unmet.set(step.id, needs.size);
  }

  const position = new Map(steps.map((s, i) => [s.id, i]));
  const free = steps.filter((s) => unmet.get(s.id) === 0).map((s) => s.id);
  const order: string[] = [];
  while (free.length > 0) {
    // Keep the free set sorted by input position so the order is deterministic.
    free.sort((a, b) => (position.get(a) ?? 0) - (position.get(b) ?? 0));
    const id = free.shift() as string;
    order.push(id);
    for (const dependent of dependents.get(id) ?? []) {
      const left = (unmet.get(dependent) ?? 0) - 1;
      unmet.set(dependent, left);
      if (left === 0) free.push(dependent);
    }
  }
  if (order.length < steps.length) {
    const stuck = steps.filter((s) => (unmet.get(s.id) ?? 0) > 0).map((s) => s.id);
    throw new InvalidGraphError(`dependency cycle among ${stuck.join(", ")}`);
  }
  return order;
}
