import type { LoadedSpec } from "./load.ts";
import type { Position } from "./positions.ts";
import type { Diagnostic, SpecIssue, SpecPath } from "./types.ts";

/** A SpecIssue without the optional fields that were not given. */
export function specIssue(severity: SpecIssue["severity"], path: SpecPath, message: string, hint?: string, key?: boolean): SpecIssue {
  const issue: SpecIssue = { severity, path, message };
  if (hint !== undefined) issue.hint = hint;
  if (key !== undefined) issue.key = key;
  return issue;
}

/** `FILE:LINE:COL: error: message`, and the hint on its own indented line. */
export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.col}: ${d.severity}: ${d.message}`;
  return d.hint === undefined ? head : `${head}\n  hint: ${d.hint}`;
}

/** An issue placed at a known line and column of file. */
export function diagnosticAt(file: string, at: Position, issue: Omit<SpecIssue, "path">): Diagnostic {
  const result: Diagnostic = { severity: issue.severity, file, line: at.line, col: at.col, message: issue.message };
  if (issue.hint !== undefined) result.hint = issue.hint;
  return result;
}

/** Gives an issue found on the spec (or on the inventory derived from it) its place in the file. */
export function toDiagnostic(loaded: Pick<LoadedSpec, "file" | "positionOf">, issue: SpecIssue): Diagnostic {
  return diagnosticAt(loaded.file, loaded.positionOf(issue.path, issue.key), issue);
}

/** File order: by line, then column; errors before warnings at the same place. */
export function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.line - b.line || a.col - b.col || (a.severity === b.severity ? 0 : a.severity === "error" ? -1 : 1);
}

/**
 * A value the user wrote, as it appears in a message: cut after `max` characters, so that a
 * runaway value (a pasted file, a missing newline) is not echoed whole. `max` is the longest
 * real use of the value, e.g. 63 for a host name (a DNS label).
 */
export function cut(text: string, max = 64): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** cut() in double quotes. */
export function quote(text: string, max = 64): string {
  return `"${cut(text, max)}"`;
}
