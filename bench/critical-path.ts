// The longest chain of needs, weighted by step duration: no schedule can end
// sooner, so a benchmark compares a run's wall time against it.

import type { StepNode } from "../src/graph/types.ts";
import { topologicalOrder } from "../src/graph/order.ts";

export interface CriticalPath {
  /** Sum of the durations along the path. */
  length: number;
  /** Step ids from the first step to the last. */
  path: string[];
}

export function criticalPath(
  steps: readonly Pick<StepNode, "id" | "needs">[],
  durationOf: (id: string) => number,
): CriticalPath {
  const needsOf = new Map(steps.map((s) => [s.id, s.needs]));
  const finish = new Map<string, number>();
  const via = new Map<string, string>();
  let best: CriticalPath = { length: 0, path: [] };
  let end: string | undefined;
  for (const { id } of topologicalOrder(steps)) {
    let start = 0;
    let from: string | undefined;
    for (const need of needsOf.get(id) ?? []) {
      const needFinish = finish.get(need) ?? 0;
      // Strictly later: among equally long chains the need listed first wins.
      if (from === undefined || needFinish > start) {
        start = needFinish;
        from = need;
      }
    }
    if (from !== undefined) via.set(id, from);
    const done = start + durationOf(id);
    finish.set(id, done);
    if (end === undefined || done > best.length) {
      end = id;
      best = { length: done, path: [] };
    }
  }
  for (let id = end; id !== undefined; id = via.get(id)) best.path.unshift(id);
  return best;
}
