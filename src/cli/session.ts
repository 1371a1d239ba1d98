// plan/'s infra flows wired to a command's output: the spec is loaded and its diagnostics
// reported here, messages and progress go to `out`, and the session is closed (lock released)
// only after the command has printed its result.

import type { InfraSession, SessionOptions } from "../plan/session.ts";
import type { InfraSink } from "../plan/walk.ts";
import type { PreflightPurpose } from "../steps/infra/preflight.ts";
import type { OptionSpec } from "./args.ts";
import { EXIT_ERROR } from "./command.ts";
import { loadReportedCluster } from "./load-cluster.ts";
import type { Output } from "./output.ts";

/** --force-unlock of the commands that take the cluster lock. */
export const forceUnlockOption: OptionSpec = {
  name: "force-unlock",
  description: "take the cluster lock over from a run on another machine after 3 min without heartbeat (never from a live run)",
};

/** Opens a session and runs `body` in it; when it cannot be opened, the reason is reported and the exit code is 1. */
export async function withInfraSession(
  out: Output,
  file: string,
  purpose: PreflightPurpose,
  body: (session: InfraSession, sink: InfraSink) => Promise<number>,
  opts: SessionOptions = {},
): Promise<number> {
  const { loaded, inventory } = await loadReportedCluster(out, file);
  if (inventory === undefined) return EXIT_ERROR;
  const { openInfraSession } = await import("../plan/session.ts");
  const sink = infraSink(out, purpose === "destroy" ? "destroy" : "apply");
  const session = await openInfraSession({ file, dir: loaded.dir, positionOf: loaded.positionOf, inventory }, purpose, sink, opts);
  if (session === undefined) return EXIT_ERROR;
  try {
    return await body(session, sink);
  } finally {
    await session.close();
  }
}

function infraSink(out: Output, command: string): InfraSink {
  return {
    message: (text) => out.message(text),
    error: (text) => out.error(text),
    // A run that acts always shows its progress. One that only looks shows, on a terminal in
    // text mode, that it is looking: its steps' outcomes would read as changes already made.
    async progress(stage) {
      const { observingReporter, pickReporter } = await import("../ui/index.ts");
      const progress = out.progress();
      if (stage === "observe") {
        return !out.json && progress.isTTY ? observingReporter(progress.stream, { color: !progress.noColor }) : undefined;
      }
      return pickReporter({ output: out.json ? "json" : "text", stream: progress.stream, isTTY: progress.isTTY, noColor: progress.noColor, command });
    },
  };
}
