import { describe, expect, test } from "bun:test";
import type { RunSummary } from "../../src/engine/events.ts";
import { summaryLines } from "../../src/ui/summary.ts";
import { registerSecret } from "../../src/ui/redact.ts";
import { failedRun, summaryOf } from "./fixtures.ts";

/** The summary as the plain reporter prints it: its lines' text. */
function formatSummary(summary: RunSummary, command?: string): string {
  return summaryLines(summary, command).map((l) => l.text).join("\n");
}

describe("summaryLines", () => {
  test("counts, each failure with step, host and reason, and what to do next", () => {
    const lines = formatSummary(failedRun).split("\n");
    expect(lines).toEqual([
      "5 steps: 1 changed, 1 unchanged, 1 failed, 2 not run in 1m 01s",
      "failed: boot:server01 (host server01): timed out after 30 s",
      "    2 steps not run because of it",
      "run apply again to continue",
    ]);
  });

  test("a clean run has no failures and no advice", () => {
    const text = formatSummary(
      summaryOf([{ id: "vm:a", kind: "vm", host: "a", outcome: "unchanged", attempts: 1, durationMs: 5 }], { durationMs: 420 }),
    );
    expect(text).toBe("1 step: 0 changed, 1 unchanged, 0 failed, 0 not run in 420 ms");
  });

  test("a step without a host names its Proxmox node; multi-line reasons are indented", () => {
    const summary = summaryOf([
      {
        id: "image:node02",
        kind: "image",
        pveNode: "node02",
        outcome: "failed",
        attempts: 1,
        durationMs: 9,
        reason: "checksum mismatch\nwant abc\ngot def",
      },
    ]);
    expect(formatSummary(summary).split("\n").slice(1, 4)).toEqual([
      "failed: image:node02 (pve node node02): checksum mismatch",
      "    want abc",
      "    got def",
    ]);
  });

  test("a cancelled run says so and lists the cancelled count", () => {
    const summary = summaryOf(
      [
        { id: "a", kind: "vm", outcome: "changed", attempts: 1, durationMs: 5 },
        { id: "b", kind: "vm", outcome: "cancelled", attempts: 0, durationMs: 0, reason: "run cancelled before it started" },
      ],
      { cancelled: true },
    );
    expect(formatSummary(summary)).toBe(
      ["2 steps: 1 changed, 0 unchanged, 0 failed, 0 not run, 1 cancelled in 1m 01s", "run cancelled", "run apply again to continue"].join("\n"),
    );
  });

  test("a registered secret in a failure reason is printed as ***", () => {
    const secret = "s3cr3t-summary-token-41c7";
    registerSecret(secret);
    const summary = summaryOf([
      { id: "vm:a", kind: "vm", host: "a", outcome: "failed", attempts: 1, durationMs: 5, reason: `401 for token ${secret}` },
    ]);
    const text = formatSummary(summary);
    expect(text).not.toContain(secret);
    expect(text).toContain("failed: vm:a (host a): 401 for token ***");
  });

  test("\"run apply again\" only when a retry can help; otherwise it names what to fix first", () => {
    const failed = (id: string, retryable: boolean) =>
      ({ id, kind: "vm", host: id.slice(3), outcome: "failed", attempts: 1, durationMs: 5, reason: "x", retryable }) as const;
    const lastLine = (summary: ReturnType<typeof summaryOf>, command?: string) => formatSummary(summary, command).split("\n").at(-1);
    expect(lastLine(summaryOf([failed("vm:a", true), failed("vm:b", true)]))).toBe("run apply again to continue");
    expect(lastLine(summaryOf([failed("vm:a", true), failed("vm:b", false)]))).toBe(
      "a retry cannot change the failure of vm:b: fix what it names, then run apply again",
    );
    expect(lastLine(summaryOf(["a", "b", "c", "d", "e"].map((h) => failed(`vm:${h}`, false))), "destroy")).toBe(
      "a retry cannot change the failures of vm:a, vm:b, vm:c and 2 more: fix what they name, then run destroy again",
    );
    // Without a classification a failure is not assumed to pass on its own.
    const { retryable: _, ...unclassified } = failed("vm:a", true);
    expect(formatSummary(summaryOf([unclassified]))).not.toContain("run apply again to continue");
  });
});
