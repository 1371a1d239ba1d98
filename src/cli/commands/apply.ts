import { phases } from "../../plan/steps.ts";
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, type Command } from "../command.ts";
import { openInfraSession } from "../infra-session.ts";
import { cancelOnInterrupt, countChanges, reportFailures, runLive, stepChanges } from "../live-run.ts";

export const apply: Command = {
  name: "apply",
  summary: "converge the cluster on the spec",
  operands: "FILE",
  arity: [1, 1],
  options: [
    { name: "phase", value: "PHASE", choices: phases, description: "infra: image, seed ISOs and VMs through the Proxmox API only" },
    { name: "concurrency", value: "N", description: "steps running at once (default 8); VM creation is also limited per Proxmox node" },
    { name: "force-unlock", description: "take the cluster lock over from a run that holds it (only when that run is dead)" },
  ],
  description: [
    "--phase infra: downloads the image onto every Proxmox node (checked against its SHA-256), uploads",
    "each host's cloud-init seed ISO and creates, updates and starts the VMs. Every step observes",
    "first and acts only on a difference, so a second apply changes nothing. Differences that would",
    "need a VM to be re-created (smaller disk, other node or VMID) are reported and never done.",
    "A run that finds nothing to do writes nothing. One that has work takes the cluster lock (the",
    "Proxmox pool starbase-lock-<cluster>), then observes again and acts. Only one run at a time:",
    "a second one names the holder and stops. A lock without heartbeat for 15 min, or left by a",
    "dead process on this machine, is taken over; --force-unlock takes it over at once.",
    "Ctrl-C: no new step starts, running ones may finish, the lock is released.",
    "JSON: the engine's events, then {type: \"apply\", phase, ok, steps: [{id, kind, changes, error?}], counts}.",
    "",
    "Exit codes: 0 converged, 1 error (spec, Proxmox, a failed step, lock held), 64 usage error.",
  ].join("\n"),
  async run(ctx) {
    const { args, out } = ctx;
    const phase = args.options.get("phase") ?? "all";
    if (phase !== "infra") {
      out.error("only the infra phase is available in this build: run `starbase apply FILE --phase infra`");
      return EXIT_ERROR;
    }
    const concurrencyText = args.options.get("concurrency");
    const concurrency = typeof concurrencyText === "string" ? Number(concurrencyText) : undefined;
    if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
      out.error(`--concurrency must be a whole number of at least 1, not "${concurrencyText}"`);
      return EXIT_USAGE;
    }

    const controller = new AbortController();
    const stopHandling = cancelOnInterrupt(out, controller);
    const file = args.positionals[0]!;
    const session = await openInfraSession(out, file, { purpose: "converge" });
    if (typeof session === "number") {
      stopHandling();
      return session;
    }
    try {
      const { infraLimits, infraRunnables, INFRA_RETRY } = await import("../../plan/live.ts");
      const { AuthError, PermissionError } = await import("../../proxmox/index.ts");
      const { formatChange } = await import("../../steps/changes.ts");
      const { PrivilegeError } = await import("../../steps/task.ts");
      const cluster = session.inventory.spec.name;

      // Observe everything and act on nothing first: a run with nothing to do writes nothing, not even its lock.
      const seen = new Map();
      const looking = infraRunnables(session.run, { mode: "plan", log: seen });
      const looked = await runLive(out, looking, { ...(concurrency !== undefined && { concurrency }), retry: INFRA_RETRY, progress: "tty", controller });
      if (!looked.cancelled && !looked.steps.some((s) => s.outcome === "changed")) {
        const results = stepChanges(looking, seen, looked);
        out.event({ type: "apply", phase: "infra", ok: looked.ok, steps: results, counts: countChanges(results) });
        reportFailures(out, results);
        if (looked.ok) out.result(`No changes: the infra of ${cluster} matches the spec (${countChanges(results).unchanged} things checked).\n`);
        return looked.ok ? EXIT_OK : EXIT_ERROR;
      }
      if (looked.cancelled) return EXIT_ERROR;

      const refused = await session.lock({
        command: "apply --phase infra",
        force: args.options.get("force-unlock") === true,
        onLost: (holder) => {
          out.error(`the cluster lock was taken over${holder === undefined ? "" : ` by ${holder.user}@${holder.host} (pid ${holder.pid})`}; stopping`);
          controller.abort();
        },
      });
      if (refused !== undefined) return refused;
      // Under the lock, read everything again: another run may have changed it since.
      const run = session.freshRun();
      const log = new Map();
      const steps = infraRunnables(run, {
        mode: "apply",
        log,
        // Without the privilege or the token nothing else will work either: stop instead of failing step by step.
        onError: (err) => {
          if (err instanceof PermissionError || err instanceof PrivilegeError || err instanceof AuthError) controller.abort();
        },
      });
      const summary = await runLive(out, steps, {
        ...(concurrency !== undefined && { concurrency }),
        limits: infraLimits(run),
        retry: INFRA_RETRY,
        progress: "always",
        controller,
      });
      const results = stepChanges(steps, log, summary);
      out.event({ type: "apply", phase: "infra", ok: summary.ok, steps: results, counts: countChanges(results) });
      const made = results.filter((r) => r.error === undefined).flatMap((r) => r.changes.filter((c) => c.op !== "=").map(formatChange));
      out.result(made.length === 0 ? "No changes were needed after all.\n" : `Changes made:\n${made.map((line) => `  ${line}`).join("\n")}\n`);
      return summary.ok ? EXIT_OK : EXIT_ERROR;
    } finally {
      await session.close();
      stopHandling();
    }
  },
};
