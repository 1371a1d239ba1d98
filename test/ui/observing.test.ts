import { describe, expect, test } from "bun:test";
import { observingReporter } from "../../src/ui/observing.ts";
import { Collector, sampleEvents, SGR } from "./fixtures.ts";
import { screen } from "./screen.ts";

describe("observingReporter", () => {
  test("one line that says it is looking; no outcomes, no count, nothing left at the end", () => {
    const out = new Collector();
    const reporter = observingReporter(out, { refreshMs: 60_000, color: false });
    const events = sampleEvents();
    const shown: string[][] = [];
    for (const e of events) {
      reporter.onEvent(e);
      shown.push(screen(out.text));
    }
    expect(shown[0]).toEqual(["⠋ observing 2 steps (0 read)"]);
    // After vm:server01 ended "changed" (it found work): still only looking.
    expect(shown[4]).toEqual(["⠋ observing 2 steps (1 read)"]);
    expect(shown[6]).toEqual(["⠋ observing 2 steps (1 read, 1 retrying)"]);
    expect(shown.at(-1)).toEqual([]);
    expect(out.text).not.toContain("changed");
    expect(out.text).not.toContain("failed");
    expect(out.text).not.toMatch(SGR);
  });

  test("the spinner turns until the run ends or close()", async () => {
    const out = new Collector();
    const reporter = observingReporter(out, { refreshMs: 2, color: true });
    reporter.onEvent(sampleEvents()[0]!);
    await Bun.sleep(30);
    const frames = new Set(out.chunks.map((c) => [...c.replace(/\x1b\[[0-9;]*[A-Za-z]|\r/g, "")][0]));
    expect(frames.size).toBeGreaterThan(2);
    reporter.close();
    const closed = out.chunks.length;
    await Bun.sleep(20);
    expect(out.chunks.length).toBe(closed);
    expect(screen(out.text)).toEqual([]);
  });
});
