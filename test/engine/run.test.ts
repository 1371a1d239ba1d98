import { describe, expect, test } from "bun:test";
import { GraphError } from "../../src/graph/validate.ts";
import { runSteps } from "../../src/engine/run.ts";
import type { RunnableStep } from "../../src/engine/types.ts";
import { InFlight, ManualSteps, ofType, recorder, timedStep, until } from "./fakes.ts";

describe("runSteps: order", () => {
  test("a step starts only after all its needs ended", async () => {
    const gauge = new InFlight();
    const steps = [
      timedStep("image:node01", 3, gauge),
      timedStep("seed:a", 1, gauge),
      timedStep("vm:a", 2, gauge, ["image:node01", "seed:a"]),
      timedStep("boot:a", 1, gauge, ["vm:a"]),
      timedStep("vm:b", 1, gauge, ["image:node01"]),
      timedStep("join", 1, gauge, ["boot:a", "vm:b"]),
    ];
    const rec = recorder();
    const summary = await runSteps(steps, { onEvent: rec.onEvent });
    expect(summary.ok).toBe(true);
    expect(summary.counts.changed).toBe(6);
    const index = (type: string, id: string) => rec.events.findIndex((e) => e.type === type && "id" in e && e.id === id);
    for (const step of steps) {
      for (const need of step.needs) expect(index("step-end", need)).toBeLessThan(index("step-start", step.id));
    }
    expect(rec.events[0]?.type).toBe("run-start");
    expect(rec.events.at(-1)?.type).toBe("run-end");
  });

  test("ready steps start in input order, not alphabetically", async () => {
    const manual = new ManualSteps();
    const steps = [manual.step("root"), manual.step("z", ["root"]), manual.step("b", ["root"]), manual.step("m", ["root"])];
    const run = runSteps(steps, { concurrency: 1 });
    await manual.running("root");
    manual.finish("root");
    for (const id of ["z", "b", "m"]) {
      await manual.running(id);
      manual.finish(id, "unchanged");
    }
    const summary = await run;
    expect(manual.started).toEqual(["root", "z", "b", "m"]);
    expect(summary.counts).toEqual({ changed: 1, unchanged: 3, failed: 0, "not-run": 0, cancelled: 0 });
    expect(summary.steps.map((s) => s.id)).toEqual(["root", "z", "b", "m"]);
  });

  test("a step learns which of its needs ended changed (in a walk that only observes: which have work)", async () => {
    const manual = new ManualSteps();
    const steps = [manual.step("image"), manual.step("seed"), manual.step("vm", ["image", "seed", "image"]), manual.step("boot", ["vm"])];
    const run = runSteps(steps);
    manual.finish("image", "changed");
    manual.finish("seed", "unchanged");
    expect((await manual.running("vm")).changedNeeds).toEqual(["image"]);
    manual.finish("vm", "unchanged");
    expect((await manual.running("boot")).changedNeeds).toEqual([]);
    manual.finish("boot", "unchanged");
    expect((await run).ok).toBe(true);
  });

  test("an empty plan ends at once and is ok", async () => {
    const summary = await runSteps([], {});
    expect(summary).toMatchObject({ ok: true, cancelled: false, steps: [] });
  });
});

describe("runSteps: concurrency and limits", () => {
  test("the global concurrency is reached and never exceeded", async () => {
    const gauge = new InFlight();
    const steps = Array.from({ length: 20 }, (_, i) => timedStep(`agents:agent${i}`, 1 + (i % 3), gauge));
    const summary = await runSteps(steps, { concurrency: 3 });
    expect(summary.ok).toBe(true);
    expect(gauge.max).toBe(3);
  });

  test("the default concurrency is 8", async () => {
    const gauge = new InFlight();
    const steps = Array.from({ length: 12 }, (_, i) => timedStep(`s${i}`, 3, gauge));
    await runSteps(steps, {});
    expect(gauge.max).toBe(8);
  });

  test("named limits hold per name; an unlisted name has capacity 1", async () => {
    const gauge = new InFlight();
    const steps: RunnableStep[] = [];
    for (let i = 0; i < 6; i++) {
      steps.push(timedStep(`vm:a${i}`, 2, gauge, [], ["vm-create:node01"]));
      steps.push(timedStep(`vm:b${i}`, 2, gauge, [], ["vm-create:node02"]));
    }
    const summary = await runSteps(steps, { concurrency: 8, limits: { "vm-create:node02": 2 } });
    expect(summary.ok).toBe(true);
    expect(gauge.maxByLimit.get("vm-create:node01")).toBe(1);
    expect(gauge.maxByLimit.get("vm-create:node02")).toBe(2);
    expect(gauge.max).toBe(3);
  });

  test("a step blocked by a limit does not hold back later ready steps", async () => {
    const manual = new ManualSteps();
    const steps = [
      manual.step("server-rest:server02", [], { limits: ["server-rest"] }),
      manual.step("server-rest:server03", [], { limits: ["server-rest"] }),
      manual.step("agents:agent01"),
    ];
    const run = runSteps(steps, { concurrency: 4 });
    await manual.running("agents:agent01");
    expect(manual.started).toEqual(["server-rest:server02", "agents:agent01"]);
    manual.finish("server-rest:server02");
    await manual.running("server-rest:server03");
    manual.finish("server-rest:server03");
    manual.finish("agents:agent01");
    expect((await run).ok).toBe(true);
  });

  test("a repeated limit name in one step counts once", async () => {
    const manual = new ManualSteps();
    const run = runSteps([manual.step("x", [], { limits: ["l", "l"] })], {});
    await manual.running("x");
    manual.finish("x");
    expect((await run).ok).toBe(true);
  });
});

describe("runSteps: failures", () => {
  test("a failure marks its transitive dependents not run; independent branches finish", async () => {
    const manual = new ManualSteps();
    const steps = [
      manual.step("vm:server01", [], { host: "server01" }),
      manual.step("boot:server01", ["vm:server01"], { host: "server01" }),
      manual.step("server-first", ["boot:server01"]),
      manual.step("lb-first"),
      manual.step("kured", ["server-first", "lb-first"]),
      manual.step("vm:lb02"),
      manual.step("lb-rest", ["vm:lb02"]),
    ];
    const rec = recorder();
    const run = runSteps(steps, { onEvent: rec.onEvent });
    await manual.running("vm:server01");
    await manual.running("lb-first");
    await manual.running("vm:lb02");
    manual.fail("vm:server01", new Error("qmcreate: storage full"));
    await until(() => ofType(rec.events, "step-skip").length === 3, "dependents to be skipped");
    manual.finish("lb-first");
    manual.finish("vm:lb02");
    await manual.running("lb-rest");
    manual.finish("lb-rest", "unchanged");
    const summary = await run;

    expect(summary.ok).toBe(false);
    const byId = new Map(summary.steps.map((s) => [s.id, s]));
    expect(byId.get("vm:server01")).toMatchObject({ outcome: "failed", reason: "qmcreate: storage full", attempts: 1, host: "server01" });
    expect(byId.get("vm:server01")?.error).toBeInstanceOf(Error);
    for (const id of ["boot:server01", "server-first", "kured"]) {
      expect(byId.get(id)).toMatchObject({
        outcome: "not-run",
        reason: "upstream failed: vm:server01",
        upstream: "vm:server01",
        attempts: 0,
        durationMs: 0,
      });
    }
    expect(byId.get("lb-first")?.outcome).toBe("changed");
    expect(byId.get("lb-rest")?.outcome).toBe("unchanged");
    expect(summary.counts).toEqual({ changed: 2, unchanged: 1, failed: 1, "not-run": 3, cancelled: 0 });
    expect(manual.started).not.toContain("kured");
    expect(ofType(rec.events, "step-skip").map((e) => [e.id, e.upstream])).toEqual([
      ["boot:server01", "vm:server01"],
      ["server-first", "vm:server01"],
      ["kured", "vm:server01"],
    ]);
  });

  test("a step that throws synchronously fails like one that rejects", async () => {
    const step: RunnableStep = {
      id: "broken",
      kind: "seed",
      needs: [],
      run: () => {
        throw new Error("render failed");
      },
    };
    const summary = await runSteps([step], {});
    expect(summary.steps[0]).toMatchObject({ outcome: "failed", reason: "render failed" });
  });

  test("a thrown non-Error becomes its string as reason", async () => {
    const manual = new ManualSteps();
    const run = runSteps([manual.step("x")], {});
    await manual.running("x");
    manual.fail("x", "plain string");
    expect((await run).steps[0]?.reason).toBe("plain string");
  });
});

describe("runSteps: progress", () => {
  test("ctx.report becomes step-progress; reports after the end are dropped", async () => {
    const manual = new ManualSteps();
    const rec = recorder();
    const run = runSteps([manual.step("vm:server01", [], { host: "server01" })], { onEvent: rec.onEvent });
    const ctx = await manual.running("vm:server01");
    ctx.report("waiting for task qmcreate (12 s)");
    manual.finish("vm:server01");
    await run;
    ctx.report("too late");
    expect(ofType(rec.events, "step-progress")).toMatchObject([
      { id: "vm:server01", host: "server01", kind: "vm", message: "waiting for task qmcreate (12 s)" },
    ]);
  });
});

describe("runSteps: bad input", () => {
  const noop = (id: string, needs: string[] = []): RunnableStep => ({ id, kind: "vm", needs, run: async () => "unchanged" });

  test("duplicate ids, unknown needs and cycles reject before anything runs", async () => {
    await expect(runSteps([noop("a"), noop("a")], {})).rejects.toThrow("step a is declared twice");
    await expect(runSteps([noop("a", ["ghost"])], {})).rejects.toThrow("step a needs ghost, which does not exist");
    const cycle = runSteps([noop("free"), noop("a", ["c"]), noop("b", ["a"]), noop("c", ["b"])], {});
    await expect(cycle).rejects.toBeInstanceOf(GraphError);
    await expect(cycle).rejects.toThrow("dependency cycle: a → c → b → a");
  });

  test("invalid options reject", async () => {
    await expect(runSteps([noop("a")], { concurrency: 0 })).rejects.toThrow(RangeError);
    await expect(runSteps([noop("a")], { limits: { l: 0 } })).rejects.toThrow("limit l");
    const retry = { attempts: 0, baseMs: 1, maxMs: 2, isRetryable: () => true };
    await expect(runSteps([noop("a")], { retry })).rejects.toThrow("retry.attempts");
  });
});
