import { buildInventory } from "../inventory/build.ts";
import { inventoryIssues } from "../inventory/issues.ts";
import type { Inventory } from "../inventory/types.ts";
import { byPosition, toDiagnostic } from "../spec/diagnostics.ts";
import { loadSpecFile, type LoadedSpec } from "../spec/load.ts";
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

/** Load cluster.yaml, run every check on it and, when it passes, derive the inventory. */
export async function loadCluster(path: string): Promise<LoadedCluster> {
  const loaded = await loadSpecFile(path);
  const spec = loaded.spec;
  const diagnostics = [...loaded.diagnostics];
  if (spec !== undefined) {
    for (const issue of [...specIssues(spec), ...inventoryIssues(spec)]) diagnostics.push(toDiagnostic(loaded, issue));
  }
  diagnostics.sort(byPosition);
  const valid = spec !== undefined && !diagnostics.some((d) => d.severity === "error");
  return { loaded, ...(spec && { spec }), ...(valid && { inventory: buildInventory(spec) }), diagnostics };
}
