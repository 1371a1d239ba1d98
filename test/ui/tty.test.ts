import { describe, expect, test } from "bun:test";
import type { EngineEvent } from "../../src/engine/events.ts";
import { registerSecret } from "../../src/ui/redact.ts";
import { ttyReporter } from "../../src/ui/tty.ts";
import { until } from "../engine/fakes.ts";
import { Collector, SGR, sampleEvents, T0 } from "./fixtures.ts";
import { screen } from "./screen.ts";

function feed(events: EngineEvent[], opts: { color?: boolean; now?: () => number } = {}) {
  const out = new Collector();
  const reporter = ttyReporter(out, { refreshMs: 60_000, now: opts.now ?? (() => T0 + 1000), color: opts.color ?? true });
  for (const e of events) reporter.onEvent(e);
  reporter.close();
  return out;
}

describe("ttyReporter", () => {
  test("shows what runs with elapsed time and last message, and what waits on what", () => {
    const events = sampleEvents().slice(0, 4); // up to the waiting event
    expect(screen(feed(events).text)).toEqual([
      "running 1 · waiting 1 · done 0/2",
      "  vm:server01  1.0 s  waiting for task qmcreate (12 s)",
      "  boot:server01 waits for vm:server01",
    ]);
  });

  test("redraws in place: finished steps scroll up, the live block is replaced, the summary ends it", () => {
    const out = feed(sampleEvents());
    expect(out.text).toMatch(/\x1b\[\d+F\x1b\[J/);
    expect(screen(out.text)).toEqual([
      "vm:server01 changed (3.0 s)",
      "boot:server01 attempt 1 failed: connection refused; retrying in 1.5 s",
      "boot:server01 failed after 2 attempts, 3.0 s: timed out after 30 s",
      "server-first not run: upstream failed: boot:server01",
      "5 steps: 1 changed, 1 unchanged, 1 failed, 2 not run in 1m 01s",
      "failed: boot:server01 (host server01): timed out after 30 s",
      "    2 steps not run because of it",
      "run apply again to continue",
    ]);
  });

  test("colours on a colour terminal, none with NO_COLOR, cursor control in both", () => {
    const coloured = feed(sampleEvents(), { color: true }).text;
    const plain = feed(sampleEvents(), { color: false }).text;
    expect(coloured).toMatch(SGR);
    expect(plain).not.toMatch(SGR);
    expect(plain).toMatch(/\x1b\[\d+F/);
    expect(screen(plain)).toEqual(screen(coloured));
  });

  test("elapsed times tick without events until close()", async () => {
    let clock = T0 + 1000;
    const out = new Collector();
    const reporter = ttyReporter(out, { refreshMs: 3, now: () => clock, color: false });
    for (const e of sampleEvents().slice(0, 2)) reporter.onEvent(e);
    clock = T0 + 75_000;
    await until(() => screen(out.text)[1] === "  vm:server01  1m 15s", "a redraw with the new elapsed time");
    reporter.close();
    const closed = out.chunks.length;
    await new Promise((r) => setTimeout(r, 20));
    expect(out.chunks.length).toBe(closed);
  });

  test("long lines are cut to the terminal width and secrets are redacted", () => {
    const secret = "tty-secret-c0ffee";
    registerSecret(secret);
    const out = new Collector();
    out.columns = 40;
    const reporter = ttyReporter(out, { refreshMs: 60_000, now: () => T0, color: false });
    const vm = { id: "vm:server01", kind: "vm" } as const;
    reporter.onEvent({ type: "run-start", at: T0, concurrency: 8, steps: [vm] });
    reporter.onEvent({ type: "step-start", at: T0, ...vm, attempt: 1 });
    reporter.onEvent({ type: "step-progress", at: T0, ...vm, message: `${secret} and a very long progress message` });
    reporter.close();
    const shown = screen(out.text);
    expect(out.text).not.toContain(secret);
    expect(shown[1]).toBe("  vm:server01  0 ms  *** and a very lo…");
    expect(shown[1]).toHaveLength(39);
    for (const line of shown) expect(line.length).toBeLessThanOrEqual(39);
  });
});
