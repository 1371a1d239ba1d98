// Engine events for reporter tests: a fixed clock so timestamps are exact, and
// a stream that collects what a reporter writes.

import type { EngineEvent, RunSummary, StepResult } from "../../src/engine/events.ts";
import type { OutputStream } from "../../src/ui/reporter.ts";

export const T0 = Date.parse("2026-11-23T20:31:02Z");

export class Collector implements OutputStream {
  columns = 100;
  rows = 30;
  chunks: string[] = [];
  write(text: string): boolean {
    this.chunks.push(text);
    return true;
  }
  get text(): string {
    return this.chunks.join("");
  }
}

export function summaryOf(steps: StepResult[], extra: Partial<RunSummary> = {}): RunSummary {
  const counts = { changed: 0, unchanged: 0, failed: 0, "not-run": 0, cancelled: 0 };
  for (const s of steps) counts[s.outcome] += 1;
  return {
    ok: steps.every((s) => s.outcome === "changed" || s.outcome === "unchanged"),
    cancelled: false,
    durationMs: 61_500,
    steps,
    counts,
    ...extra,
  };
}

export const failedRun = summaryOf([
  { id: "image:node01", kind: "image", pveNode: "node01", outcome: "unchanged", attempts: 1, durationMs: 800 },
  { id: "vm:server01", kind: "vm", host: "server01", outcome: "changed", attempts: 1, durationMs: 12_000 },
  { id: "boot:server01", kind: "boot", host: "server01", outcome: "failed", attempts: 2, durationMs: 30_000, reason: "timed out after 30 s", retryable: true },
  { id: "server-first", kind: "server-first", host: "server01", outcome: "not-run", attempts: 0, durationMs: 0, reason: "upstream failed: boot:server01", upstream: "boot:server01" },
  { id: "kured", kind: "kured", outcome: "not-run", attempts: 0, durationMs: 0, reason: "upstream failed: boot:server01", upstream: "boot:server01" },
]);

/** One event of every type, one second apart from T0. */
export function sampleEvents(): EngineEvent[] {
  const vm = { id: "vm:server01", kind: "vm", host: "server01", pveNode: "node01" } as const;
  const boot = { id: "boot:server01", kind: "boot", host: "server01" } as const;
  const at = (s: number) => T0 + s * 1000;
  return [
    { type: "run-start", at: at(0), concurrency: 8, steps: [vm, boot] },
    { type: "step-start", at: at(0), ...vm, attempt: 1 },
    { type: "step-progress", at: at(1), ...vm, message: "waiting for task qmcreate (12 s)" },
    {
      type: "waiting",
      at: at(2),
      quietMs: 10_000,
      running: [{ ...vm, elapsedMs: 12_000, attempt: 1, lastMessage: "waiting for task qmcreate (12 s)" }],
      waiting: [{ ...boot, on: "needs", blockers: ["vm:server01"], reason: "waits for vm:server01" }],
    },
    { type: "step-end", at: at(3), ...vm, outcome: "changed", durationMs: 3000, attempts: 1 },
    { type: "step-start", at: at(3), ...boot, attempt: 1 },
    { type: "step-retry", at: at(4), ...boot, attempt: 1, delayMs: 1500, reason: "connection refused" },
    { type: "step-start", at: at(5), ...boot, attempt: 2 },
    { type: "step-end", at: at(6), ...boot, outcome: "failed", durationMs: 3000, attempts: 2, reason: "timed out after 30 s" },
    {
      type: "step-skip",
      at: at(6),
      id: "server-first",
      kind: "server-first",
      outcome: "not-run",
      reason: "upstream failed: boot:server01",
      upstream: "boot:server01",
    },
    { type: "run-end", at: at(7), summary: failedRun },
  ];
}

export const ANY_ESCAPE = /\x1b/;
export const SGR = /\x1b\[[0-9;]*m/;
