// The heartbeat: a quiet run says what runs, for how long, and what waits on what.
import { describe, expect, test } from "bun:test";
import type { EngineEvent } from "../../src/engine/events.ts";
import { runSteps } from "../../src/engine/run.ts";
import { ManualSteps, ofType, recorder, until } from "./fakes.ts";

type Waiting = Extract<EngineEvent, { type: "waiting" }>;

describe("runSteps: waiting events", () => {
  test("name the limit holder, the unfinished need and the running steps", async () => {
    const manual = new ManualSteps();
    const rec = recorder();
    const steps = [
      manual.step("vm:server01", [], { host: "server01", limits: ["vm-create:node01"] }),
      manual.step("server-rest:server02"),
      manual.step("server-rest:server03", ["server-rest:server02"]),
      manual.step("vm:server04", [], { host: "server04", limits: ["vm-create:node01"] }),
      manual.step("agents:agent01", ["server-rest:server03"]),
    ];
    const run = runSteps(steps, { heartbeatMs: 10, onEvent: rec.onEvent });
    const ctx = await manual.running("vm:server01");
    ctx.report("waiting for task qmcreate (12 s)");
    // Heartbeats repeat; take the first one after the report, however slow this machine is.
    const afterReport = () => ofType(rec.events, "waiting").find((w) => w.running[0]?.lastMessage !== undefined);
    await until(() => afterReport() !== undefined, "a waiting event after the report");
    const waiting = afterReport() as Waiting;

    expect(waiting.running.map((r) => r.id)).toEqual(["vm:server01", "server-rest:server02"]);
    expect(waiting.running[0]).toMatchObject({ host: "server01", attempt: 1, lastMessage: "waiting for task qmcreate (12 s)" });
    expect(waiting.running[0]?.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(waiting.quietMs).toBeGreaterThanOrEqual(0);
    const why = new Map(waiting.waiting.map((w) => [w.id, w]));
    expect(why.get("vm:server04")).toMatchObject({
      on: "limit",
      limit: "vm-create:node01",
      blockers: ["vm:server01"],
      reason: "waits for limit vm-create:node01 held by vm:server01",
    });
    expect(why.get("server-rest:server03")).toMatchObject({
      on: "needs",
      blockers: ["server-rest:server02"],
      reason: "waits for server-rest:server02",
    });
    expect(why.get("agents:agent01")?.reason).toBe("waits for server-rest:server03");

    for (const id of ["vm:server01", "server-rest:server02"]) manual.finish(id);
    for (const id of ["vm:server04", "server-rest:server03"]) {
      await manual.running(id);
      manual.finish(id);
    }
    await manual.running("agents:agent01");
    manual.finish("agents:agent01");
    await run;
  });

  test("name the global slot holders and the steps in backoff", async () => {
    const manual = new ManualSteps();
    const rec = recorder();
    const retry = { attempts: 2, baseMs: 60_000, maxMs: 60_000, isRetryable: () => true };
    const ctrl = new AbortController();
    const run = runSteps([manual.step("a"), manual.step("b"), manual.step("c")], {
      concurrency: 1,
      heartbeatMs: 10,
      retry,
      random: () => 0.5,
      signal: ctrl.signal,
      onEvent: rec.onEvent,
    });
    await manual.running("a");
    manual.fail("a", new Error("lock busy"));
    await manual.running("b");
    const whileBRuns = () => ofType(rec.events, "waiting").find((w) => w.running[0]?.id === "b");
    await until(() => whileBRuns() !== undefined, "a waiting event while b runs");
    const waiting = whileBRuns() as Waiting;
    expect(waiting.waiting).toMatchObject([
      { id: "a", on: "backoff", blockers: [] },
      { id: "c", on: "slot", blockers: ["b"], reason: "waits for a free slot (concurrency 1, all in use)" },
    ]);
    expect(waiting.waiting[0]?.reason).toMatch(/^retries in \d+(\.\d+)? s \(attempt 1 failed: lock busy\)$/);
    ctrl.abort();
    manual.finish("b");
    await run;
  });

  test("a step that only reports progress still gets heartbeats, repeatedly", async () => {
    const manual = new ManualSteps();
    const rec = recorder();
    const run = runSteps([manual.step("server-first")], { heartbeatMs: 15, onEvent: rec.onEvent });
    const ctx = await manual.running("server-first");
    const chatter = setInterval(() => ctx.report("waiting for rke2-server"), 2);
    await until(() => ofType(rec.events, "waiting").length >= 2, "two waiting events");
    clearInterval(chatter);
    manual.finish("server-first");
    await run;
    const beats = ofType(rec.events, "waiting");
    expect(beats[1]?.quietMs).toBeGreaterThan(beats[0]?.quietMs ?? Infinity);
    expect(beats[0]?.running[0]?.lastMessage).toBe("waiting for rke2-server");
  });

  test("no heartbeat after the run ended", async () => {
    const manual = new ManualSteps();
    const rec = recorder();
    const run = runSteps([manual.step("a")], { heartbeatMs: 5, onEvent: rec.onEvent });
    await manual.running("a");
    manual.finish("a");
    await run;
    const count = rec.events.length;
    await new Promise((r) => setTimeout(r, 20));
    expect(rec.events.length).toBe(count);
    expect(rec.events.at(-1)?.type).toBe("run-end");
  });
});
