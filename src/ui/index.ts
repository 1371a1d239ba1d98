// The reporters' public surface and the choice between them.

import { jsonReporter } from "./json.ts";
import { plainReporter } from "./plain.ts";
import type { OutputStream, Reporter } from "./reporter.ts";
import { ttyReporter } from "./tty.ts";

export { jsonReporter } from "./json.ts";
export { observingReporter } from "./observing.ts";
export { plainReporter } from "./plain.ts";
export { redact, registerSecret } from "./redact.ts";
export type { OutputStream, Reporter } from "./reporter.ts";
export { ttyReporter } from "./tty.ts";

export interface ReporterChoice {
  output: "json" | "text";
  stream: OutputStream;
  isTTY: boolean;
  noColor: boolean;
  /** What to run again after a failed run (default "apply"). */
  command?: string;
}

/** json → NDJSON events; text on a terminal → live progress; text elsewhere → timestamped lines. */
export function pickReporter(choice: ReporterChoice): Reporter {
  if (choice.output === "json") return jsonReporter(choice.stream);
  const command = choice.command === undefined ? {} : { command: choice.command };
  if (choice.isTTY) return ttyReporter(choice.stream, { color: !choice.noColor, ...command });
  return plainReporter(choice.stream, command);
}
