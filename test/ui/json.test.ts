import { describe, expect, test } from "bun:test";
import { runSteps } from "../../src/engine/run.ts";
import type { RunnableStep } from "../../src/engine/types.ts";
import { jsonReporter } from "../../src/ui/json.ts";
import { registerSecret } from "../../src/ui/redact.ts";
import { ANY_ESCAPE, Collector, sampleEvents } from "./fixtures.ts";

function parsedLines(text: string): Record<string, unknown>[] {
  return text
    .trimEnd()
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

describe("jsonReporter", () => {
  test("one parseable object per event with stable field names", () => {
    const out = new Collector();
    const reporter = jsonReporter(out);
    const events = sampleEvents();
    for (const e of events) reporter.onEvent(e);
    const objects = parsedLines(out.text);
    expect(objects.map((o) => o.type)).toEqual(events.map((e) => e.type));
    expect(out.text).not.toMatch(ANY_ESCAPE);

    const byEvent = (name: string, n = 0) => objects.filter((o) => o.type === name)[n];
    expect(byEvent("run-start")).toMatchObject({ time: "2026-11-23T20:31:02.000Z", concurrency: 8 });
    expect(byEvent("step-start")).toEqual({
      type: "step-start",
      time: "2026-11-23T20:31:02.000Z",
      id: "vm:server01",
      kind: "vm",
      host: "server01",
      pveNode: "node01",
      attempt: 1,
    });
    expect(byEvent("step-end")).toEqual({
      type: "step-end",
      time: "2026-11-23T20:31:05.000Z",
      id: "vm:server01",
      kind: "vm",
      host: "server01",
      pveNode: "node01",
      outcome: "changed",
      durationMs: 3000,
      attempts: 1,
    });
    expect(byEvent("step-end", 1)).toMatchObject({ outcome: "failed", reason: "timed out after 30 s", attempts: 2 });
    expect(byEvent("step-retry")).toMatchObject({ id: "boot:server01", attempt: 1, delayMs: 1500, reason: "connection refused" });
    expect(byEvent("step-skip")).toMatchObject({
      id: "server-first",
      outcome: "not-run",
      reason: "upstream failed: boot:server01",
      upstream: "boot:server01",
    });
    expect(byEvent("waiting")).toMatchObject({
      quietMs: 10_000,
      running: [{ id: "vm:server01", elapsedMs: 12_000, attempt: 1, message: "waiting for task qmcreate (12 s)" }],
      waiting: [{ id: "boot:server01", on: "needs", blockers: ["vm:server01"], reason: "waits for vm:server01" }],
    });
    expect(byEvent("run-end")).toMatchObject({
      ok: false,
      cancelled: false,
      durationMs: 61_500,
      counts: { changed: 1, unchanged: 1, failed: 1, "not-run": 2, cancelled: 0 },
    });
    expect((byEvent("run-end")?.steps as unknown[])[2]).toEqual({
      id: "boot:server01",
      kind: "boot",
      host: "server01",
      outcome: "failed",
      attempts: 2,
      durationMs: 30_000,
      reason: "timed out after 30 s",
      retryable: true,
    });
  });

  test("a secret never reaches the JSON, even one that JSON would escape", async () => {
    const secret = 'json"secret\\5b1f';
    registerSecret(secret);
    const leaky: RunnableStep = {
      id: "vm:server01",
      kind: "vm",
      needs: [],
      run: async (ctx) => {
        ctx.report(`token is ${secret}`);
        throw new Error(`401: bad token ${secret}`);
      },
    };
    const out = new Collector();
    await runSteps([leaky], { onEvent: jsonReporter(out).onEvent });
    expect(out.text).not.toContain(secret);
    expect(out.text).not.toContain(JSON.stringify(secret).slice(1, -1));
    const objects = parsedLines(out.text);
    expect(objects.find((o) => o.type === "step-progress")?.message).toBe("token is ***");
    expect(objects.find((o) => o.type === "step-end")?.reason).toBe("401: bad token ***");
  });
});
