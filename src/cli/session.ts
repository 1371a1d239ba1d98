// plan/'s flows wired to a command: the spec is loaded and its diagnostics reported here,
// messages and progress go to `out`, the run is named after the user of the command's
// environment, and the session is closed (lock released) only after the command has printed
// its result.

import { hostname, userInfo } from "node:os";
import type { ClusterSession } from "../plan/cluster.ts";
import type { InfraSession } from "../plan/infra.ts";
import type { PhaseRun, RunIdentity, Session, ValidCluster } from "../plan/session.ts";
import type { RunSink } from "../plan/walk.ts";
import type { PreflightPurpose } from "../steps/infra/preflight.ts";
import type { OptionSpec } from "./args.ts";
import { type CommandContext, EXIT_ERROR } from "./command.ts";
import { ask, canAsk } from "./confirm.ts";
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

/** Which phases a converge session runs: one, or both as one graph. */
export type SessionPhase = "infra" | "cluster" | "all";

export interface ConvergeSessionOptions {
  observeOnly?: boolean;
  /** How long boot waits for a host (SSH, cloud-init, a reboot). */
  bootWaitMs?: number;
  /** Where the kubeconfig step writes (apply -o PATH). */
  kubeconfigOut?: string;
}

// Any phase's session: the body is generic over the run, as plan/converge.ts is.
type AnySession = Session<any>;

/**
 * Opens the phase(s) for plan or apply and runs `body` in the session: infra through the Proxmox
 * API, cluster over SSH only (no Proxmox credentials read), all as one graph of both.
 */
export function withConvergeSession(
  ctx: CommandContext,
  file: string,
  phase: SessionPhase,
  body: <Run extends PhaseRun<Run>>(session: Session<Run>, sink: RunSink) => Promise<number>,
  opts: ConvergeSessionOptions = {},
): Promise<number> {
  if (phase === "infra") return withInfraSession(ctx, file, "converge", body, opts);
  const open: SessionOpener<AnySession> = async (cluster, sink, who) => {
    const clusterSession = await openCluster(ctx, cluster, sink, who, opts);
    if (clusterSession === undefined || phase === "cluster") return clusterSession;
    const { openInfraSession } = await import("../plan/infra.ts");
    const infraSession = await openInfraSession(cluster, "converge", sink, { ...opts, who });
    if (infraSession === undefined) {
      await clusterSession.close();
      return undefined;
    }
    const { combineSessions } = await import("../plan/all.ts");
    return combineSessions(infraSession, clusterSession, sink);
  };
  return withSession(ctx, file, "apply", open, body);
}

/** The cluster phase's session (SSH only); undefined when it cannot be opened (reported to the sink). */
async function openCluster(ctx: CommandContext, cluster: ValidCluster, sink: RunSink, who: RunIdentity, opts: ConvergeSessionOptions) {
  const { openClusterSession } = await import("../plan/cluster.ts");
  return openClusterSession(cluster, sink, {
    who,
    askPassphrase: passphrasePrompt(ctx),
    ...(opts.bootWaitMs !== undefined && { bootWaitMs: opts.bootWaitMs }),
    ...(opts.kubeconfigOut !== undefined && { kubeconfigOut: opts.kubeconfigOut }),
    // A plan does not wait for a host that does not answer: it says so.
    ...(opts.observeOnly === true && { connectRetry: { deadlineMs: 10_000, initialDelayMs: 500, maxDelayMs: 4_000 } }),
  });
}

/** Opens the cluster phase's session (SSH only, no lock) and runs `body` in it. */
export function withClusterSession(
  ctx: CommandContext,
  file: string,
  body: (session: ClusterSession, sink: RunSink) => Promise<number>,
  opts: ConvergeSessionOptions = {},
): Promise<number> {
  return withSession(ctx, file, "apply", (cluster, sink, who) => openCluster(ctx, cluster, sink, who, opts), body);
}

/** On a terminal (not in JSON mode): asks for the key file's passphrase, without echo. */
function passphrasePrompt({ out, stdin }: CommandContext): ((file: string) => Promise<string | undefined>) | undefined {
  if (!canAsk(out, stdin)) return undefined;
  return (file) => ask(out, stdin, `Passphrase for ${file}: `, new AbortController().signal, { hidden: true });
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
