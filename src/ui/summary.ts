// The end-of-run report: counts, then each failure with its step, host and
// reason, and what to do next. Shared by every text reporter and by the CLI.

import type { RunSummary, StepResult } from "../engine/events.ts";
import { redact } from "./redact.ts";
import { formatDuration } from "./text.ts";
import { counted } from "./words.ts";

export type Tone = "ok" | "failed" | "warn" | "plain";

export interface SummaryLine {
  text: string;
  tone: Tone;
}

export function summaryLines(summary: RunSummary): SummaryLine[] {
  const c = summary.counts;
  let counts = `${c.changed} changed, ${c.unchanged} unchanged, ${c.failed} failed, ${c["not-run"]} not run`;
  if (c.cancelled > 0) counts += `, ${c.cancelled} cancelled`;
  const lines: SummaryLine[] = [{ text: `${counts} in ${formatDuration(summary.durationMs)}`, tone: summary.ok ? "ok" : "failed" }];
  if (summary.cancelled) lines.push({ text: "run cancelled", tone: "warn" });
  for (const failure of summary.steps.filter((s) => s.outcome === "failed")) {
    const [first = "", ...rest] = (failure.reason ?? "unknown error").split("\n");
    lines.push({ text: `failed: ${failure.id}${where(failure)}: ${first}`, tone: "failed" });
    for (const line of rest) lines.push({ text: `    ${line}`, tone: "plain" });
    const blocked = summary.steps.filter((s) => s.upstream === failure.id).length;
    if (blocked > 0) lines.push({ text: `    ${counted(blocked, "step")} not run because of it`, tone: "plain" });
  }
  if (!summary.ok) lines.push({ text: "run apply again to continue", tone: "plain" });
  return lines.map((l) => ({ ...l, text: redact(l.text) }));
}

export function formatSummary(summary: RunSummary): string {
  return summaryLines(summary)
    .map((l) => l.text)
    .join("\n");
}

function where(step: StepResult): string {
  if (step.host !== undefined) return ` (host ${step.host})`;
  if (step.pveNode !== undefined) return ` (pve node ${step.pveNode})`;
  return "";
}
