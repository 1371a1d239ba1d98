// --output json: one JSON object per line and per event. The field names here
// are a public contract for wrappers and CI; they are spelled out rather than
// copied from the engine's types so an internal rename cannot change them.

import type { EngineEvent, StepResult } from "../engine/events.ts";
import { stepRef } from "../graph/types.ts";
import { redact } from "./redact.ts";
import type { OutputStream, Reporter } from "./reporter.ts";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

export function jsonReporter(stream: OutputStream): Reporter {
  return {
    onEvent(e: EngineEvent): void {
      stream.write(JSON.stringify(redactJson(toJson(e))) + "\n");
    },
    close(): void {},
  };
}

function toJson(e: EngineEvent): { [key: string]: Json } {
  const head = { type: e.type, time: new Date(e.at).toISOString() };
  switch (e.type) {
    case "run-start":
      return { ...head, concurrency: e.concurrency, steps: e.steps.map(stepRef) };
    case "step-start":
      return { ...head, ...stepRef(e), attempt: e.attempt };
    case "step-progress":
      return { ...head, ...stepRef(e), message: e.message };
    case "step-retry":
      return { ...head, ...stepRef(e), attempt: e.attempt, delayMs: e.delayMs, reason: e.reason };
    case "step-end":
      return { ...head, ...stepRef(e), outcome: e.outcome, durationMs: e.durationMs, attempts: e.attempts, ...optional("reason", e.reason) };
    case "step-skip":
      return { ...head, ...stepRef(e), outcome: e.outcome, reason: e.reason, ...optional("upstream", e.upstream) };
    case "waiting":
      return {
        ...head,
        quietMs: e.quietMs,
        running: e.running.map((r) => ({ ...stepRef(r), elapsedMs: r.elapsedMs, attempt: r.attempt, ...optional("message", r.lastMessage) })),
        waiting: e.waiting.map((w) => ({ ...stepRef(w), on: w.on, blockers: w.blockers, reason: w.reason })),
      };
    case "run-end": {
      const s = e.summary;
      return { ...head, ok: s.ok, cancelled: s.cancelled, durationMs: s.durationMs, counts: { ...s.counts }, steps: s.steps.map(result) };
    }
  }
}

function result(r: StepResult): { [key: string]: Json } {
  return {
    ...stepRef(r),
    outcome: r.outcome,
    attempts: r.attempts,
    durationMs: r.durationMs,
    ...optional("reason", r.reason),
    ...optional("upstream", r.upstream),
    ...(r.retryable !== undefined && { retryable: r.retryable }),
  };
}

/** `{ [key]: value }`, or nothing when the value is absent: optional fields are left out, never null. */
function optional(key: "reason" | "upstream" | "message", value: string | undefined): { [key: string]: Json } {
  return value === undefined ? {} : { [key]: value };
}

function redactJson(value: Json): Json {
  if (typeof value === "string") return redact(value);
  if (Array.isArray(value)) return value.map(redactJson);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactJson(v)]));
  }
  return value;
}
