import { buildInventory } from "../inventory/build.ts";
import { inventoryIssues } from "../inventory/issues.ts";
import type { Inventory } from "../inventory/types.ts";
import { byPosition, toDiagnostic } from "../spec/diagnostics.ts";
import { loadSpecFile, type LoadedSpec } from "../spec/load.ts";
import { referenceIssues } from "../spec/reference-rules.ts";
import type { Env } from "../spec/secrets.ts";
import { specIssues } from "../spec/semantics.ts";
import type { Diagnostic, Spec } from "../spec/types.ts";

export interface LoadedCluster {
  loaded: LoadedSpec;
  spec?: Spec;
  /** Present only when there is no error: every consumer may trust it. */
  inventory?: Inventory;
  /** Every problem at once, schema, spec and inventory together, in file order. */
  diagnostics: Diagnostic[];
}

/**
 * Load cluster.yaml, run every check on it and, when it passes, derive the inventory. The
 * semantic checks run also when the schema failed, skipping only those that read a broken
 * value, so that one run reports everything. Secrets given as { env: NAME } are read from `env`.
 */
export async function loadCluster(path: string, env: Env): Promise<LoadedCluster> {
  const loaded = await loadSpecFile(path);
  const { spec, defaulted, broken } = loaded;
  const diagnostics = [...loaded.diagnostics];
  if (defaulted !== undefined) {
    const issues = [...specIssues(defaulted, broken), ...inventoryIssues(defaulted, broken), ...referenceIssues(defaulted, loaded.dir, env, broken)];
    for (const issue of issues) diagnostics.push(toDiagnostic(loaded, issue));
  }
  diagnostics.sort(byPosition);
  const valid = spec !== undefined && !diagnostics.some((d) => d.severity === "error");
  return { loaded, ...(spec && { spec }), ...(valid && { inventory: buildInventory(spec) }), diagnostics };
}
