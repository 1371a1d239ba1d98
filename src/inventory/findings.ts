import { specIssue } from "../spec/diagnostics.ts";
import type { SpecIssue, SpecPath } from "../spec/types.ts";

/** One problem about one host, before problems of the same kind at the same place are merged. */
export interface Finding {
  severity: SpecIssue["severity"];
  path: SpecPath;
  /** Kind of problem; findings merge only with the same severity, path and kind. */
  kind: string;
  text: string;
  hint?: string;
}

const LISTED_PER_ISSUE = 3;

/**
 * One issue per (severity, path, kind), in order of first appearance. A derived range
 * (count: 40 from one ipStart) can put many hosts in the same trouble; the user needs one
 * message at that line, naming the first few hosts, not forty.
 */
export function mergeFindings(findings: readonly Finding[]): SpecIssue[] {
  const merged = new Map<string, { first: Finding; texts: string[] }>();
  for (const finding of findings) {
    const key = JSON.stringify([finding.severity, finding.path, finding.kind]);
    const group = merged.get(key);
    if (group === undefined) merged.set(key, { first: finding, texts: [finding.text] });
    else group.texts.push(finding.text);
  }
  return [...merged.values()].map(({ first, texts }) => {
    const listed = texts.slice(0, LISTED_PER_ISSUE);
    if (texts.length > LISTED_PER_ISSUE) listed.push(`and ${texts.length - LISTED_PER_ISSUE} more`);
    return specIssue(first.severity, first.path, listed.join("; "), first.hint);
  });
}
