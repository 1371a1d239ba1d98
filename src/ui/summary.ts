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

/** `command` is what the user runs to go on after a failed run ("apply", "destroy"). */
export function summaryLines(summary: RunSummary, command = "apply"): SummaryLine[] {
  const c = summary.counts;
  let counts = `${counted(summary.steps.length, "step")}: ${c.changed} changed, ${c.unchanged} unchanged, ${c.failed} failed, ${c["not-run"]} not run`;
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
  const next = nextStep(summary, command);
  if (next !== undefined) lines.push({ text: next, tone: "plain" });
  return lines.map((l) => ({ ...l, text: redact(l.text) }));
}

/**
 * What to do after a run that did not succeed. Running again helps only when every failure may
 * pass on its own (lost answers, lock timeouts, timeouts) or the run was cancelled; any other
 * failure stays until its cause is fixed, and the user is told so instead.
 */
function nextStep(summary: RunSummary, command: string): string | undefined {
  if (summary.ok) return undefined;
  const lasting = summary.steps.filter((s) => s.outcome === "failed" && s.retryable !== true).map((s) => s.id);
  if (lasting.length === 0) return `run ${command} again to continue`;
  const named = lasting.length > 3 ? `${lasting.slice(0, 3).join(", ")} and ${lasting.length - 3} more` : lasting.join(", ");
  const which = `the ${lasting.length === 1 ? "failure" : "failures"} of ${named}`;
  return `a retry cannot change ${which}: fix what ${lasting.length === 1 ? "it names" : "they name"}, then run ${command} again`;
}

function where(step: StepResult): string {
  if (step.host !== undefined) return ` (host ${step.host})`;
  if (step.pveNode !== undefined) return ` (pve node ${step.pveNode})`;
  return "";
}
