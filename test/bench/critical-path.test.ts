import { describe, expect, test } from "bun:test";
import { criticalPath } from "../../bench/critical-path.ts";
import { GraphError } from "../../src/graph/validate.ts";

const durations: Record<string, number> = { image: 3, seed: 1, vm: 2, boot: 4, "lb-first": 2, "server-first": 5, agents: 3, kured: 1 };
const durationOf = (id: string): number => durations[id] ?? 0;

describe("criticalPath", () => {
  test("finds the longest weighted chain of needs", () => {
    const steps = [
      { id: "image", needs: [] },
      { id: "seed", needs: [] },
      { id: "vm", needs: ["image", "seed"] },
      { id: "boot", needs: ["vm"] },
      { id: "lb-first", needs: ["boot"] },
      { id: "server-first", needs: ["boot"] },
      { id: "agents", needs: ["server-first"] },
      { id: "kured", needs: ["server-first", "lb-first"] },
    ];
    // image 3 + vm 2 + boot 4 + server-first 5 + agents 3 = 17; via kured it would be 15.
    expect(criticalPath(steps, durationOf)).toEqual({ length: 17, path: ["image", "vm", "boot", "server-first", "agents"] });
  });

  test("among equal chains the first listed need and the first listed end win", () => {
    const steps = [
      { id: "a", needs: [] },
      { id: "b", needs: [] },
      { id: "c", needs: ["b", "a"] },
      { id: "d", needs: [] },
    ];
    expect(criticalPath(steps, () => 1)).toEqual({ length: 2, path: ["b", "c"] });
  });

  test("an empty graph has an empty path; a cycle is rejected", () => {
    expect(criticalPath([], durationOf)).toEqual({ length: 0, path: [] });
    expect(() => criticalPath([{ id: "x", needs: ["x"] }], durationOf)).toThrow(GraphError);
  });
});
