import { GraphError, graphProblems, type Vertex } from "./validate.ts";

/**
 * Steps in an order where every step comes after all it needs. Stable: among the steps
 * that are ready at the same time, the one declared first comes first, so a graph built
 * in dependency order is returned unchanged. Throws GraphError when the steps are no DAG.
 */
export function topologicalOrder<T extends Vertex>(steps: readonly T[]): T[] {
  const problems = graphProblems(steps);
  if (problems.length > 0) throw new GraphError(problems);

  const position = new Map(steps.map((step, i) => [step.id, i]));
  const waitingOn = steps.map((step) => new Set(step.needs).size);
  const dependents: number[][] = steps.map(() => []);
  steps.forEach((step, i) => {
    for (const need of new Set(step.needs)) dependents[position.get(need)!]!.push(i);
  });

  const ready = new MinHeap();
  waitingOn.forEach((count, i) => {
    if (count === 0) ready.push(i);
  });
  const ordered: T[] = [];
  for (let i = ready.pop(); i !== undefined; i = ready.pop()) {
    ordered.push(steps[i]!);
    for (const dependent of dependents[i]!) {
      waitingOn[dependent]! -= 1;
      if (waitingOn[dependent] === 0) ready.push(dependent);
    }
  }
  return ordered;
}

/** Binary min-heap of declaration positions: "the earliest declared ready step" in O(log n). */
class MinHeap {
  private readonly items: number[] = [];

  push(value: number): void {
    const items = this.items;
    items.push(value);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= value) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = value;
  }

  pop(): number | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= items.length) break;
      const right = left + 1;
      const child = right < items.length && items[right]! < items[left]! ? right : left;
      if (items[child]! >= last) break;
      items[i] = items[child]!;
      i = child;
    }
    items[i] = last;
    return top;
  }
}
