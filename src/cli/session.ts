// plan/'s flows wired to a command: the spec is loaded and its diagnostics reported here,
// messages and progress go to `out`, the run is named after the user of the command's
// environment, and the session is closed (lock released) only after the command has printed
// its result.

import { hostname, userInfo } from "node:os";
import type { InfraSession } from "../plan/infra.ts";
import type { RunIdentity, ValidCluster } from "../plan/session.ts";
import type { RunSink } from "../plan/walk.ts";
import type { PreflightPurpose } from "../steps/infra/preflight.ts";
import type { OptionSpec } from "./args.ts";
import { type CommandContext, EXIT_ERROR } from "./command.ts";
import { loadReportedCluster } from "./load-cluster.ts";
import type { Output } from "./output.ts";

/** --force-unlock of the commands that take the cluster lock. */
export const forceUnlockOption: OptionSpec = {
  name: "force-unlock",
  description: "take the cluster lock over from a run on another machine after 3 min without heartbeat (never from a live run)",
};

/** Who runs, as the lock names it: the login name from the environment, else the account's. */
function runIdentity(env: CommandContext["env"]): RunIdentity {
  return { user: env.USER || env.LOGNAME || userInfo().username, host: hostname(), pid: process.pid };
}

/** Opens a phase's session for a valid cluster, or reports to the sink why it cannot and returns undefined. */
export type SessionOpener<S> = (cluster: ValidCluster, sink: RunSink, who: RunIdentity) => Promise<S | undefined>;

/**
 * Loads the cluster, opens a session with `open` and runs `body` in it; when either fails, the
 * reason is reported and the exit code is 1. `command` is what the summary tells to run again.
 */
export async function withSession<S extends { close(): Promise<void> }>(
  { out, env }: CommandContext,
  file: string,
  command: "apply" | "destroy",
  open: SessionOpener<S>,
  body: (session: S, sink: RunSink) => Promise<number>,
): Promise<number> {
  const { loaded, inventory } = await loadReportedCluster(out, file, env);
  if (inventory === undefined) return EXIT_ERROR;
  const sink = runSink(out, command);
  const session = await open({ file, dir: loaded.dir, positionOf: loaded.positionOf, inventory, env }, sink, runIdentity(env));
  if (session === undefined) return EXIT_ERROR;
  try {
    return await body(session, sink);
  } finally {
    await session.close();
  }
}

/** The infra phase's session (Proxmox) for plan, apply and destroy. */
export function withInfraSession(
  ctx: CommandContext,
  file: string,
  purpose: PreflightPurpose,
  body: (session: InfraSession, sink: RunSink) => Promise<number>,
  opts: { observeOnly?: boolean } = {},
): Promise<number> {
  const open: SessionOpener<InfraSession> = async (cluster, sink, who) => {
    const { openInfraSession } = await import("../plan/infra.ts");
    return openInfraSession(cluster, purpose, sink, { ...opts, who });
  };
  return withSession(ctx, file, purpose === "destroy" ? "destroy" : "apply", open, body);
}

function runSink(out: Output, command: string): RunSink {
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
