import { byPosition, toDiagnostic } from "./diagnostics.ts";
import { loadSpecFile } from "./load.ts";
import { specIssues } from "./semantics.ts";
import type { Diagnostic, Spec, SpecIssue } from "./types.ts";

/** Issues found by a higher layer (inventory/) on a schema-valid spec. */
export type IssueProvider = (spec: Spec) => SpecIssue[];

/**
 * Every diagnostic for a cluster.yaml, in file order: YAML and schema problems, and, once
 * those are clean, the semantic rules plus whatever the extra providers find.
 */
export async function validateSpecFile(path: string, extraIssues: readonly IssueProvider[] = []): Promise<Diagnostic[]> {
  const loaded = await loadSpecFile(path);
  const diagnostics = [...loaded.diagnostics];
  const spec = loaded.spec;
  if (spec !== undefined) {
    const issues = [...specIssues(spec), ...extraIssues.flatMap((provider) => provider(spec))];
    diagnostics.push(...issues.map((issue) => toDiagnostic(loaded, issue)));
  }
  return diagnostics.sort(byPosition);
}
