import type { LoadedCluster } from "../plan/load.ts";
import type { Env } from "../spec/secrets.ts";
import { countBySeverity, reportDiagnostics } from "./diagnostics.ts";
import type { Output } from "./output.ts";
import { counted } from "../ui/words.ts";

/**
 * For commands that need a valid cluster: load it and print every diagnostic, warnings too,
 * on stderr. The result has an inventory only when there was no error; the caller then exits 1.
 * In JSON mode the diagnostics become events only on failure, so that a command's success
 * stays its own one result object (warnings as events: `validate --output json`).
 */
export async function loadReportedCluster(out: Output, file: string, env: Env): Promise<LoadedCluster> {
  // Imported here so that commands which load no spec never pay for the schema validator.
  const { loadCluster } = await import("../plan/load.ts");
  const cluster = await loadCluster(file, env);
  const failed = cluster.inventory === undefined;
  reportDiagnostics(out, cluster.diagnostics, { events: failed });
  if (failed) {
    const { errors } = countBySeverity(cluster.diagnostics);
    out.error(`${file}: ${counted(errors, "error")}, nothing done`);
  }
  return cluster;
}
