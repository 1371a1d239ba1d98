import { describe, expect, test } from "bun:test";
import { topologicalOrder } from "../../src/graph/order.ts";
import type { StepNode } from "../../src/graph/types.ts";
import { GraphError, graphProblems } from "../../src/graph/validate.ts";

function step(id: string, needs: string[] = []): StepNode {
  return { id, kind: "boot", needs };
}

const ids = (steps: StepNode[]) => steps.map((s) => s.id);

describe("graphProblems", () => {
  test("a DAG has no problems", () => {
    expect(graphProblems([step("a"), step("b", ["a"]), step("c", ["a", "b"])])).toEqual([]);
  });

  test("names the step and the need that does not exist", () => {
    const problems = graphProblems([step("a"), step("b", ["a", "ghost"])]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: "unknown-need", step: "b", need: "ghost" });
    expect(problems[0]!.message).toContain("b needs ghost");
  });

  test("reports a step declared twice", () => {
    expect(graphProblems([step("a"), step("a")])).toMatchObject([{ kind: "duplicate", step: "a" }]);
  });

  test("names a cycle, closed on its first step", () => {
    const problems = graphProblems([step("x"), step("a", ["c", "x"]), step("b", ["a"]), step("c", ["b"])]);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ kind: "cycle", cycle: ["a", "c", "b", "a"] });
    expect(problems[0]!.message).toBe("dependency cycle: a → c → b → a");
  });

  test("a step that needs itself is a cycle", () => {
    expect(graphProblems([step("a", ["a"])])).toMatchObject([{ kind: "cycle", cycle: ["a", "a"] }]);
  });

  test("reports every problem at once", () => {
    const problems = graphProblems([step("a", ["b"]), step("b", ["a"]), step("c", ["nope"]), step("c")]);
    expect(problems.map((p) => p.kind).sort()).toEqual(["cycle", "duplicate", "unknown-need"]);
  });

  test("a chain of 100000 steps neither overflows nor is called a cycle", () => {
    const chain = Array.from({ length: 100_000 }, (_, i) => step(`s${i}`, i === 0 ? [] : [`s${i - 1}`]));
    expect(graphProblems(chain.reverse())).toEqual([]);
  });
});

describe("topologicalOrder", () => {
  test("keeps declaration order when it is already a valid order", () => {
    const steps = [step("a"), step("b"), step("c", ["a"]), step("d", ["b", "c"])];
    expect(ids(topologicalOrder(steps))).toEqual(["a", "b", "c", "d"]);
  });

  test("puts every step after its needs, earliest declared ready step first", () => {
    const steps = [step("late", ["mid"]), step("mid", ["root"]), step("free"), step("root")];
    expect(ids(topologicalOrder(steps))).toEqual(["free", "root", "mid", "late"]);
  });

  test("a step released later still yields to an earlier-declared ready step", () => {
    // b becomes ready after a; c, declared before d, is ready from the start.
    const steps = [step("a"), step("b", ["a"]), step("c"), step("d")];
    expect(ids(topologicalOrder(steps))).toEqual(["a", "b", "c", "d"]);
    const reversed = [step("d"), step("c"), step("b", ["a"]), step("a")];
    expect(ids(topologicalOrder(reversed))).toEqual(["d", "c", "a", "b"]);
  });

  test("a repeated need counts once", () => {
    expect(ids(topologicalOrder([step("b", ["a", "a"]), step("a")]))).toEqual(["a", "b"]);
  });

  test("throws a GraphError naming the cycle", () => {
    const attempt = () => topologicalOrder([step("a", ["b"]), step("b", ["a"])]);
    expect(attempt).toThrow(GraphError);
    expect(attempt).toThrow("dependency cycle: a → b → a");
  });
});
