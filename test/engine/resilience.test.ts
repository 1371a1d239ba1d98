// Retries, timeouts and cancellation.
import { describe, expect, test } from "bun:test";
import { RunCancelledError, StepTimeoutError } from "../../src/engine/errors.ts";
import { backoffDelay } from "../../src/engine/retry.ts";
import { runSteps } from "../../src/engine/run.ts";
import type { RetryPolicy, RunnableStep, StepContext } from "../../src/engine/types.ts";
import { ManualSteps, ofType, recorder, until } from "./fakes.ts";

class LockBusy extends Error {}

const retryLocks = (attempts: number, baseMs = 10, maxMs = 15): RetryPolicy => ({
  attempts,
  baseMs,
  maxMs,
  isRetryable: (err) => err instanceof LockBusy,
});

/** Returns the given values in turn, recording how often it was asked. */
function scriptedRandom(values: number[]): { random: () => number; calls: () => number } {
  let i = 0;
  return {
    random: () => {
      const v = values[i++];
      if (v === undefined) throw new Error("random called more often than scripted");
      return v;
    },
    calls: () => i,
  };
}

describe("backoffDelay", () => {
  test("full jitter over an exponential ceiling capped at maxMs", () => {
    const policy = { baseMs: 100, maxMs: 1000 };
    expect(backoffDelay(1, policy, () => 0.999)).toBe(99);
    expect(backoffDelay(2, policy, () => 0.5)).toBe(100);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(200);
    expect(backoffDelay(5, policy, () => 0.5)).toBe(500); // 1600 capped to 1000
    expect(backoffDelay(9, policy, () => 0)).toBe(0);
  });
});

describe("runSteps: retries", () => {
  test("retryable errors are retried with jittered backoff until success", async () => {
    const manual = new ManualSteps();
    const rec = recorder();
    const jitter = scriptedRandom([0.5, 0.25]);
    const run = runSteps([manual.step("vm:server01")], { retry: retryLocks(3), random: jitter.random, onEvent: rec.onEvent });
    const attempts: StepContext[] = [await manual.running("vm:server01", 1)];
    manual.fail("vm:server01", new LockBusy("can't lock file '/var/lock/qemu-server/lock-210.conf'"));
    attempts.push(await manual.running("vm:server01", 2));
    manual.fail("vm:server01", new LockBusy("can't lock file (again)"));
    attempts.push(await manual.running("vm:server01", 3));
    manual.finish("vm:server01");
    const summary = await run;

    expect(attempts.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(summary.steps[0]).toMatchObject({ outcome: "changed", attempts: 3 });
    const retries = ofType(rec.events, "step-retry");
    // attempt 1: 0.5 · min(15, 10) = 5; attempt 2: 0.25 · min(15, 20) = 3
    expect(retries.map((r) => [r.attempt, r.delayMs, r.reason])).toEqual([
      [1, 5, "can't lock file '/var/lock/qemu-server/lock-210.conf'"],
      [2, 3, "can't lock file (again)"],
    ]);
    const starts = ofType(rec.events, "step-start");
    expect(starts.map((s) => s.attempt)).toEqual([1, 2, 3]);
    // The backoff is honoured: each retry starts no earlier than its delay after the failure.
    for (const [i, retry] of retries.entries()) {
      expect((starts[i + 1]?.at ?? 0) - retry.at).toBeGreaterThanOrEqual(retry.delayMs - 1);
    }
  });

  test("errors that are not retryable fail at once", async () => {
    const manual = new ManualSteps();
    const jitter = scriptedRandom([]);
    const run = runSteps([manual.step("vm:server01")], { retry: retryLocks(5), random: jitter.random });
    await manual.running("vm:server01");
    manual.fail("vm:server01", new Error("403 permission denied"));
    const summary = await run;
    expect(summary.steps[0]).toMatchObject({ outcome: "failed", attempts: 1, reason: "403 permission denied", retryable: false });
    expect(jitter.calls()).toBe(0);
  });

  test("a step that keeps failing stops after the allowed attempts", async () => {
    const manual = new ManualSteps();
    const rec = recorder();
    const run = runSteps([manual.step("a"), manual.step("b", ["a"])], {
      retry: retryLocks(3, 1, 2),
      random: () => 0.5,
      onEvent: rec.onEvent,
    });
    for (let attempt = 1; attempt <= 3; attempt++) {
      await manual.running("a", attempt);
      manual.fail("a", new LockBusy(`busy ${attempt}`));
    }
    const summary = await run;
    // Out of attempts, but of a kind a later run may get past.
    expect(summary.steps[0]).toMatchObject({ outcome: "failed", attempts: 3, reason: "busy 3", retryable: true });
    expect(summary.steps[1]).toMatchObject({ outcome: "not-run", reason: "upstream failed: a" });
    expect(summary.steps[1]?.retryable).toBeUndefined();
    expect(ofType(rec.events, "step-retry")).toHaveLength(2);
    expect(manual.started).toEqual(["a", "a", "a"]);
  });

  test("between attempts the step frees its limit for others", async () => {
    const manual = new ManualSteps();
    const steps = [manual.step("vm:a", [], { limits: ["vm-create:node01"] }), manual.step("vm:b", [], { limits: ["vm-create:node01"] })];
    const run = runSteps(steps, { retry: retryLocks(2, 20, 20), random: () => 0.99 });
    await manual.running("vm:a");
    manual.fail("vm:a", new LockBusy("busy"));
    await manual.running("vm:b");
    expect(manual.started).toEqual(["vm:a", "vm:b"]);
    manual.finish("vm:b");
    await manual.running("vm:a", 2);
    manual.finish("vm:a");
    expect((await run).ok).toBe(true);
  });
});

describe("runSteps: timeouts", () => {
  const waitsForAbort = (id: string, timeoutMs: number, seen: StepContext[]): RunnableStep => ({
    id,
    kind: "boot",
    needs: [],
    timeoutMs,
    run: (ctx) => {
      seen.push(ctx);
      return new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
    },
  });

  test("a step past its timeout is aborted and fails with the time in the reason", async () => {
    const seen: StepContext[] = [];
    const manual = new ManualSteps();
    const steps = [waitsForAbort("boot:server01", 20, seen), manual.step("server-first", ["boot:server01"])];
    const summary = await runSteps(steps, {});
    // Its outcome is unknown: a later run may find it done.
    expect(summary.steps[0]).toMatchObject({ outcome: "failed", reason: "timed out after 0.02 s", retryable: true });
    expect(summary.steps[0]?.error).toBeInstanceOf(StepTimeoutError);
    expect(seen[0]?.signal.aborted).toBe(true);
    expect(seen[0]?.signal.reason).toBeInstanceOf(StepTimeoutError);
    expect(summary.steps[1]).toMatchObject({ outcome: "not-run", reason: "upstream failed: boot:server01" });
  });

  test("a step that ignores the abort still fails on time", async () => {
    const stubborn: RunnableStep = { id: "x", kind: "vm", needs: [], timeoutMs: 5, run: () => new Promise(() => {}) };
    const summary = await runSteps([stubborn], {});
    expect(summary.steps[0]).toMatchObject({ outcome: "failed", reason: "timed out after 0.005 s" });
  });

  test("a timeout is retried when the policy says so", async () => {
    const seen: StepContext[] = [];
    const flaky: RunnableStep = {
      id: "boot:agent01",
      kind: "boot",
      needs: [],
      timeoutMs: 10,
      run: (ctx) => {
        seen.push(ctx);
        if (ctx.attempt === 2) return Promise.resolve("unchanged");
        return new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
      },
    };
    const retry = { attempts: 2, baseMs: 1, maxMs: 1, isRetryable: (e: unknown) => e instanceof StepTimeoutError };
    const summary = await runSteps([flaky], { retry, random: () => 0 });
    expect(summary.steps[0]).toMatchObject({ outcome: "unchanged", attempts: 2 });
    expect(seen.map((c) => c.signal.aborted)).toEqual([true, false]);
  });
});

describe("runSteps: cancellation", () => {
  test("nothing new starts; running steps finish cleanly; the rest is cancelled", async () => {
    const manual = new ManualSteps();
    const ctrl = new AbortController();
    const rec = recorder();
    const steps = [manual.step("vm:server01"), manual.step("boot:server01", ["vm:server01"]), manual.step("vm:server02")];
    const run = runSteps(steps, { concurrency: 1, signal: ctrl.signal, onEvent: rec.onEvent });
    const ctx = await manual.running("vm:server01");
    ctrl.abort();
    await until(() => ofType(rec.events, "step-skip").length === 2, "pending steps to be cancelled");
    expect(ctx.signal.aborted).toBe(false);
    manual.finish("vm:server01");
    const summary = await run;

    expect(manual.started).toEqual(["vm:server01"]);
    expect(summary.cancelled).toBe(true);
    expect(summary.ok).toBe(false);
    expect(summary.steps.map((s) => [s.id, s.outcome])).toEqual([
      ["vm:server01", "changed"],
      ["boot:server01", "cancelled"],
      ["vm:server02", "cancelled"],
    ]);
    expect(summary.steps[1]?.reason).toBe("run cancelled before it started");
    expect(summary.counts.cancelled).toBe(2);
  });

  test("after the grace period running steps are aborted and the run ends", async () => {
    const manual = new ManualSteps();
    const ctrl = new AbortController();
    const run = runSteps([manual.step("server-first")], { signal: ctrl.signal, cancelGraceMs: 15 });
    const ctx = await manual.running("server-first");
    ctrl.abort();
    const summary = await run;
    expect(ctx.signal.aborted).toBe(true);
    expect(ctx.signal.reason).toBeInstanceOf(RunCancelledError);
    expect(summary.steps[0]).toMatchObject({ outcome: "cancelled", reason: "aborted 0.015 s after the run was cancelled", attempts: 1 });
    // A late settle of the aborted attempt changes nothing.
    manual.finish("server-first");
    expect(summary.steps[0]?.outcome).toBe("cancelled");
  });

  test("a run whose signal is already aborted starts nothing", async () => {
    const manual = new ManualSteps();
    const summary = await runSteps([manual.step("a"), manual.step("b")], { signal: AbortSignal.abort() });
    expect(manual.started).toEqual([]);
    expect(summary).toMatchObject({ cancelled: true, ok: false, counts: { cancelled: 2 } });
  });

  test("a step waiting to retry is cancelled without another attempt", async () => {
    const manual = new ManualSteps();
    const ctrl = new AbortController();
    const rec = recorder();
    const run = runSteps([manual.step("a")], {
      signal: ctrl.signal,
      retry: retryLocks(3, 10_000, 10_000),
      random: () => 0.5,
      onEvent: rec.onEvent,
    });
    await manual.running("a");
    manual.fail("a", new LockBusy("busy"));
    await until(() => ofType(rec.events, "step-retry").length === 1, "the retry to be scheduled");
    ctrl.abort();
    const summary = await run;
    expect(manual.started).toEqual(["a"]);
    expect(summary.steps[0]).toMatchObject({ outcome: "cancelled", attempts: 1, reason: "run cancelled before a retry (last error: busy)" });
  });

  test("a failure during the grace period is final, not retried", async () => {
    const manual = new ManualSteps();
    const ctrl = new AbortController();
    const run = runSteps([manual.step("a")], { signal: ctrl.signal, retry: retryLocks(3), random: () => 0 });
    await manual.running("a");
    ctrl.abort();
    manual.fail("a", new LockBusy("busy"));
    const summary = await run;
    expect(summary.steps[0]).toMatchObject({ outcome: "failed", attempts: 1 });
    expect(summary.cancelled).toBe(true);
  });
});
