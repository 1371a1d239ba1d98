import type { LoadedCluster } from "../plan/load.ts";
import { countBySeverity, reportDiagnostics } from "./diagnostics.ts";
import type { Output } from "./output.ts";

/**
 * For commands that need a valid cluster: load it and report every diagnostic, warnings
 * too. The result has an inventory only when there was no error; the caller then exits 1.
 */
export async function loadReportedCluster(out: Output, file: string): Promise<LoadedCluster> {
  // Imported here so that commands which load no spec never pay for the schema validator.
  const { loadCluster } = await import("../plan/load.ts");
  const cluster = await loadCluster(file);
  reportDiagnostics(out, cluster.diagnostics);
  if (cluster.inventory === undefined) {
    const { errors } = countBySeverity(cluster.diagnostics);
    out.error(`${file}: ${errors} error${errors === 1 ? "" : "s"}, nothing done`);
  }
  return cluster;
}
