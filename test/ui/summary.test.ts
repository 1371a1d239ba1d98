import { describe, expect, test } from "bun:test";
import { formatSummary } from "../../src/ui/summary.ts";
import { registerSecret } from "../../src/ui/redact.ts";
import { failedRun, summaryOf } from "./fixtures.ts";

describe("formatSummary", () => {
  test("counts, each failure with step, host and reason, and what to do next", () => {
    const lines = formatSummary(failedRun).split("\n");
    expect(lines).toEqual([
      "1 changed, 1 unchanged, 1 failed, 2 not run in 1m 01s",
      "failed: boot:server01 (host server01): timed out after 30 s",
      "    2 steps not run because of it",
      "run apply again to continue",
    ]);
  });

  test("a clean run has no failures and no advice", () => {
    const text = formatSummary(
      summaryOf([{ id: "vm:a", kind: "vm", host: "a", outcome: "unchanged", attempts: 1, durationMs: 5 }], { durationMs: 420 }),
    );
    expect(text).toBe("0 changed, 1 unchanged, 0 failed, 0 not run in 420 ms");
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
      ["1 changed, 0 unchanged, 0 failed, 0 not run, 1 cancelled in 1m 01s", "run cancelled", "run apply again to continue"].join("\n"),
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
});
