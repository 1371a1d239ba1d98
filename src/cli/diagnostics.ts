import { formatDiagnostic } from "../spec/diagnostics.ts";
import type { Diagnostic } from "../spec/types.ts";
import type { Output } from "./output.ts";

/** Every diagnostic on stderr as FILE:LINE:COL: severity: message, and (unless told not to) one JSON event each. */
export function reportDiagnostics(out: Output, diagnostics: readonly Diagnostic[], opts = { events: true }): void {
  for (const d of diagnostics) {
    const paint = d.severity === "error" ? out.errStyle.red : out.errStyle.yellow;
    out.message(paint(formatDiagnostic(d)));
    if (opts.events) out.event({ type: "diagnostic", ...d });
  }
}

export function countBySeverity(diagnostics: readonly Diagnostic[]): { errors: number; warnings: number } {
  const errors = diagnostics.filter((d) => d.severity === "error").length;
  return { errors, warnings: diagnostics.length - errors };
}
