// Review F5: in a walk that only observes, a step whose need has work is reported as known
// after that need, instead of observing what does not exist yet.
import { describe, expect, test } from "bun:test";
import { fakePlan } from "./known-after-fixture.ts";

describe("a plan step whose need has work", () => {
  test("is not observed, and says after which step it is known; its dependents too; independent steps observe", async () => {
    const plan = await fakePlan(true);
    expect(plan.observed.sort()).toEqual(["elsewhere", "make:a"]);
    const byId = new Map(plan.steps.map((s) => [s.id, s]));
    expect(byId.get("look:a")).toEqual({ id: "look:a", kind: "look", host: "a", changes: [], acts: false, knownAfter: "make:a" });
    expect(byId.get("after")?.knownAfter).toBe("look:a");
    expect(byId.get("elsewhere")?.knownAfter).toBeUndefined();
    expect(plan.counts).toMatchObject({ create: 1, unchanged: 1, knownAfter: 2, failed: 0 });
    // The walk still has work: apply's look takes the lock and observes again after acting.
    expect(plan.summary.steps.find((s) => s.id === "look:a")?.outcome).toBe("changed");
  });

  test("is observed as usual when its need has nothing to do", async () => {
    const plan = await fakePlan(false);
    expect(plan.observed.sort()).toEqual(["after", "elsewhere", "look:a", "make:a"]);
    expect(plan.steps.every((s) => s.knownAfter === undefined)).toBe(true);
    expect(plan.counts).toMatchObject({ unchanged: 4, knownAfter: 0 });
  });

  test("is observed anyway when its family reads only what exists before its needs act (the infra families)", async () => {
    const plan = await fakePlan(true, true);
    expect(plan.observed).toContain("look:a");
    expect(plan.steps.find((s) => s.id === "look:a")?.knownAfter).toBeUndefined();
    expect(plan.steps.find((s) => s.id === "after")?.knownAfter).toBeUndefined();
  });
});
