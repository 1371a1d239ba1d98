// Non-TTY output: one timestamped line per fact, no escape codes, suitable for
// CI logs and `tee`.

import type { EngineEvent } from "../engine/events.ts";
import { redact } from "./redact.ts";
import type { OutputStream, Reporter } from "./reporter.ts";
import { summaryLines } from "./summary.ts";
import { endLine, notableWaits, othersLine, retryLine, runningLine, skipLine, startLine, timestamp } from "./text.ts";
import { counted } from "./words.ts";

/** `command`: what to run again after a failed run (default "apply"). */
export function plainReporter(stream: OutputStream, opts: { command?: string } = {}): Reporter {
  return {
    onEvent(e: EngineEvent): void {
      const lines = linesOf(e, opts.command);
      if (lines.length === 0) return;
      const ts = timestamp(e.at);
      // A multi-line message (stderr tail) keeps a timestamp on every line so grep and sort still work.
      const out = lines.flatMap((line) => line.split("\n").map((part, i) => `${ts} ${i === 0 ? "" : "    "}${part}`));
      stream.write(redact(out.join("\n")) + "\n");
    },
    close(): void {},
  };
}

function linesOf(e: EngineEvent, command: string | undefined): string[] {
  switch (e.type) {
    case "run-start":
      return [`run started: ${counted(e.steps.length, "step")}, concurrency ${e.concurrency}`];
    case "step-start":
      return [startLine(e)];
    case "step-progress":
      return [`${e.id} ${e.message}`];
    case "step-retry":
      return [retryLine(e)];
    case "step-end":
      return [endLine(e)];
    case "step-skip":
      return [skipLine(e)];
    case "waiting": {
      const { listed, others } = notableWaits(e.waiting, new Set(e.running.map((r) => r.id)));
      const lines = [...e.running.map(runningLine), ...listed.map((w) => `${w.id} ${w.reason}`)];
      if (others > 0) lines.push(othersLine(others));
      return lines;
    }
    case "run-end":
      return summaryLines(e.summary, command).map((l) => l.text);
  }
}
