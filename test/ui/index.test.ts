import { describe, expect, test } from "bun:test";
import { pickReporter } from "../../src/ui/index.ts";
import { ANY_ESCAPE, Collector, SGR, sampleEvents } from "./fixtures.ts";

function output(choice: { output: "json" | "text"; isTTY: boolean; noColor: boolean }): string {
  const stream = new Collector();
  const reporter = pickReporter({ ...choice, stream });
  for (const e of sampleEvents()) reporter.onEvent(e);
  reporter.close();
  return stream.text;
}

describe("pickReporter", () => {
  test("json output is NDJSON even on a terminal", () => {
    const text = output({ output: "json", isTTY: true, noColor: false });
    expect(text).not.toMatch(ANY_ESCAPE);
    for (const line of text.trimEnd().split("\n")) expect(JSON.parse(line)).toHaveProperty("type");
  });

  test("text on a terminal is live and coloured unless NO_COLOR", () => {
    expect(output({ output: "text", isTTY: true, noColor: false })).toMatch(SGR);
    const noColor = output({ output: "text", isTTY: true, noColor: true });
    expect(noColor).not.toMatch(SGR);
    expect(noColor).toMatch(ANY_ESCAPE);
  });

  test("text elsewhere is plain timestamped lines", () => {
    const text = output({ output: "text", isTTY: false, noColor: false });
    expect(text).not.toMatch(ANY_ESCAPE);
    expect(text.split("\n")[0]).toMatch(/^2026-11-23T20:31:02Z run started: 2 steps, concurrency 8$/);
  });
});
