// Human wording of engine events, shared by the plain and the TTY reporter so
// both say the same thing; only layout and colour differ.

import type { EngineEvent, WaitingStep } from "../engine/events.ts";
import { counted } from "./words.ts";

type Of<T extends EngineEvent["type"]> = Extract<EngineEvent, { type: T }>;

/** 350 → "350 ms", 12340 → "12.3 s", 185000 → "3m 05s", 3_900_000 → "1h 05m". */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.floor(ms / 1000);
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${pad(seconds % 60)}s`;
  return `${Math.floor(seconds / 3600)}h ${pad(Math.floor(seconds / 60) % 60)}m`;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** 2026-11-23T20:31:02Z */
export function timestamp(at: number): string {
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function startLine(e: Of<"step-start">): string {
  return e.attempt > 1 ? `${e.id} started (attempt ${e.attempt})` : `${e.id} started`;
}

export function retryLine(e: Of<"step-retry">): string {
  return `${e.id} attempt ${e.attempt} failed: ${e.reason}; retrying in ${formatDuration(e.delayMs)}`;
}

export function endLine(e: Of<"step-end">): string {
  const took = formatDuration(e.durationMs);
  switch (e.outcome) {
    case "failed": {
      const after = e.attempts > 1 ? `${e.attempts} attempts, ${took}` : took;
      return `${e.id} failed after ${after}: ${e.reason ?? "unknown error"}`;
    }
    case "cancelled":
      return `${e.id} cancelled: ${e.reason ?? "run cancelled"}`;
    default:
      return `${e.id} ${e.outcome} (${took})`;
  }
}

export function skipLine(e: Of<"step-skip">): string {
  return `${e.id} ${e.outcome === "not-run" ? "not run" : "cancelled"}: ${e.reason}`;
}

export function runningLine(r: Of<"waiting">["running"][number]): string {
  const last = r.lastMessage === undefined ? "" : ` (last: ${r.lastMessage})`;
  return `${r.id} still running after ${formatDuration(r.elapsedMs)}${last}`;
}

/**
 * The waits worth a line: limits, slots and backoffs, and needs on a step that
 * runs now. The rest only wait for steps that wait themselves, so they are
 * counted instead of listed (a 40-step plan would otherwise flood the output).
 */
export function notableWaits(
  waiting: readonly WaitingStep[],
  running: ReadonlySet<string>,
): { listed: WaitingStep[]; others: number } {
  const listed = waiting.filter((w) => w.on !== "needs" || w.blockers.some((b) => running.has(b)));
  return { listed, others: waiting.length - listed.length };
}

export function othersLine(others: number): string {
  return `${counted(others, "more step")} ${others === 1 ? "waits" : "wait"} for earlier steps`;
}
