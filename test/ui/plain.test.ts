import { describe, expect, test } from "bun:test";
import type { WaitingStep } from "../../src/engine/events.ts";
import { plainReporter } from "../../src/ui/plain.ts";
import { registerSecret } from "../../src/ui/redact.ts";
import { ANY_ESCAPE, Collector, sampleEvents, T0 } from "./fixtures.ts";

describe("plainReporter", () => {
  test("every line is timestamped and free of escape codes", () => {
    const out = new Collector();
    const reporter = plainReporter(out);
    for (const e of sampleEvents()) reporter.onEvent(e);
    const lines = out.text.trimEnd().split("\n");
    for (const line of lines) expect(line).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z \s*\S/);
    expect(out.text).not.toMatch(ANY_ESCAPE);
    expect(lines).toContain("2026-11-23T20:31:02Z vm:server01 started");
    expect(lines).toContain("2026-11-23T20:31:03Z vm:server01 waiting for task qmcreate (12 s)");
    expect(lines).toContain("2026-11-23T20:31:04Z vm:server01 still running after 12.0 s (last: waiting for task qmcreate (12 s))");
    expect(lines).toContain("2026-11-23T20:31:04Z boot:server01 waits for vm:server01");
    expect(lines).toContain("2026-11-23T20:31:05Z vm:server01 changed (3.0 s)");
    expect(lines).toContain("2026-11-23T20:31:06Z boot:server01 attempt 1 failed: connection refused; retrying in 1.5 s");
    expect(lines).toContain("2026-11-23T20:31:07Z boot:server01 started (attempt 2)");
    expect(lines).toContain("2026-11-23T20:31:08Z boot:server01 failed after 2 attempts, 3.0 s: timed out after 30 s");
    expect(lines).toContain("2026-11-23T20:31:08Z server-first not run: upstream failed: boot:server01");
    expect(lines.slice(-4)).toEqual([
      "2026-11-23T20:31:09Z 5 steps: 1 changed, 1 unchanged, 1 failed, 2 not run in 1m 01s",
      "2026-11-23T20:31:09Z failed: boot:server01 (host server01): timed out after 30 s",
      "2026-11-23T20:31:09Z     2 steps not run because of it",
      "2026-11-23T20:31:09Z run apply again to continue",
    ]);
  });

  test("a multi-line message keeps a timestamp on each line", () => {
    const out = new Collector();
    plainReporter(out).onEvent({ type: "step-progress", at: T0, id: "boot:a", kind: "boot", message: "stderr:\nline one" });
    expect(out.text).toBe("2026-11-23T20:31:02Z boot:a stderr:\n2026-11-23T20:31:02Z     line one\n");
  });

  test("waits on steps that are not running are counted, not listed", () => {
    const out = new Collector();
    const waitOn = (id: string, blocker: string): WaitingStep => ({
      id,
      kind: "agents",
      on: "needs",
      blockers: [blocker],
      reason: `waits for ${blocker}`,
    });
    plainReporter(out).onEvent({
      type: "waiting",
      at: T0,
      quietMs: 10_000,
      running: [{ id: "server-first", kind: "server-first", elapsedMs: 61_000, attempt: 1 }],
      waiting: [waitOn("kured", "server-first"), waitOn("agents:agent01", "server-rest:server02"), waitOn("agents:agent02", "server-rest:server02")],
    });
    expect(out.text.trimEnd().split("\n")).toEqual([
      "2026-11-23T20:31:02Z server-first still running after 1m 01s",
      "2026-11-23T20:31:02Z kured waits for server-first",
      "2026-11-23T20:31:02Z 2 more steps wait for earlier steps",
    ]);
  });

  test("secrets in messages are redacted", () => {
    const secret = "plain-secret-9d2e";
    registerSecret(secret);
    const out = new Collector();
    plainReporter(out).onEvent({ type: "step-progress", at: T0, id: "x", kind: "vm", message: `using ${secret}` });
    expect(out.text).toBe("2026-11-23T20:31:02Z x using ***\n");
  });
});
