import type { LoadedSpec } from "./load.ts";
import type { Diagnostic, SpecIssue } from "./types.ts";

/** `FILE:LINE:COL: error: message`, and the hint on its own indented line. */
export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}`;
  return d.hint === undefined ? head : `${head}\n  hint: ${d.hint}`;
}

/** Gives an issue found on the spec (or on the inventory derived from it) its place in the file. */
export function toDiagnostic(loaded: Pick<LoadedSpec, "file" | "positionOf">, issue: SpecIssue): Diagnostic {
  const { line, col } = loaded.positionOf(issue.path, issue.key);
  const result: Diagnostic = { severity: issue.severity, file: loaded.file, line, col, message: issue.message };
  if (issue.hint !== undefined) result.hint = issue.hint;
  return result;
}

/** File order: by line, then column; errors before warnings at the same place. */
export function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.line - b.line || a.col - b.col || (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1);
}
