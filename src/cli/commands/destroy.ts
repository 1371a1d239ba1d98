import { EXIT_ERROR, EXIT_OK, type Command } from "../command.ts";
import { openInfraSession } from "../infra-session.ts";
import { cancelOnInterrupt, runLive, stepChanges } from "../live-run.ts";
import type { Output } from "../output.ts";

async function confirmed(out: Output, cluster: string, what: string, signal: AbortSignal): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const prompt = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await prompt.question(`This destroys ${what}.\nType the cluster name (${cluster}) to go on: `, { signal });
    return answer.trim() === cluster;
  } catch {
    return false;
  } finally {
    prompt.close();
    out.message("");
  }
}

export const destroy: Command = {
  name: "destroy",
  summary: "delete the VMs and seed ISOs of this cluster",
  operands: "FILE",
  arity: [1, 1],
  options: [
    { name: "yes", description: "do not ask; required when not on a terminal" },
    { name: "force-unlock", description: "take the cluster lock over from a run that holds it (only when that run is dead)" },
  ],
  description: [
    "Deletes only what carries this cluster's mark: VMs tagged both `starbase` and",
    "`starbase-<name>` (running ones are stopped first; disks go with them: purge=1,",
    "destroy-unreferenced-disks=1) and the seed ISOs starbase-<name>-<host>-<hash>.iso.",
    "The downloaded images stay (other clusters may use them; delete them in Proxmox if not).",
    "On a terminal it lists what goes and asks for the cluster name; elsewhere --yes is required.",
    "JSON: the engine's events, then {type: \"destroy\", ok, steps: [{id, kind, changes, error?}]}.",
    "",
    "Exit codes: 0 destroyed (or nothing to destroy), 1 error or not confirmed, 64 usage error.",
  ].join("\n"),
  async run({ args, out }) {
    const yes = args.options.get("yes") === true;
    const interactive = process.stdin.isTTY === true && out.progress().isTTY && !out.json;
    if (!yes && !interactive) {
      out.error("destroy deletes VMs: pass --yes to confirm (not on a terminal, so it cannot ask)");
      return EXIT_ERROR;
    }
    const controller = new AbortController();
    const stopHandling = cancelOnInterrupt(out, controller);
    const file = args.positionals[0]!;
    const session = await openInfraSession(out, file, { purpose: "destroy" });
    if (typeof session === "number") {
      stopHandling();
      return session;
    }
    try {
      const { destroyRunnables, INFRA_RETRY } = await import("../../plan/live.ts");
      const { formatChange } = await import("../../steps/changes.ts");
      const cluster = session.inventory.spec.name;

      // What would go, observed without acting: shown before the question.
      const preview = new Map();
      const planned = await destroyRunnables(session.run, { mode: "plan", log: preview });
      const previewSummary = await runLive(out, planned, { retry: INFRA_RETRY, progress: "tty", controller });
      const doomed = stepChanges(planned, preview, previewSummary).flatMap((r) => r.changes.filter((c) => c.op === "-"));
      const images = `${session.inventory.spec.proxmox.storage.image}:import`;
      if (doomed.length === 0) {
        out.result(`Nothing to destroy: no VM or seed ISO of cluster ${cluster} in Proxmox. Images in ${images} are kept.\n`);
        out.event({ type: "destroy", ok: true, steps: [] });
        return EXIT_OK;
      }
      out.message(doomed.map((c) => `  ${formatChange(c)}`).join("\n"));
      const vms = doomed.filter((c) => c.subject.startsWith("VM ")).length;
      if (!yes && !(await confirmed(out, cluster, `${vms} VMs and ${doomed.length - vms} seed ISOs of cluster ${cluster}`, controller.signal))) {
        out.error("not confirmed: nothing destroyed");
        return EXIT_ERROR;
      }

      const refused = await session.lock({ command: "destroy", force: args.options.get("force-unlock") === true, onLost: () => controller.abort() });
      if (refused !== undefined) return refused;
      // Under the lock, read again what is there.
      const log = new Map();
      const steps = await destroyRunnables(session.freshRun(), { mode: "apply", log });
      const summary = await runLive(out, steps, { retry: INFRA_RETRY, progress: "always", controller });
      const results = stepChanges(steps, log, summary);
      out.event({ type: "destroy", ok: summary.ok, steps: results });
      const done = results.filter((r) => r.error === undefined).flatMap((r) => r.changes.filter((c) => c.op === "-").map(formatChange));
      out.result(`Destroyed:\n${done.map((line) => `  ${line}`).join("\n")}\nImages in ${images} are kept (shared; delete them in Proxmox when no cluster needs them).\n`);
      return summary.ok ? EXIT_OK : EXIT_ERROR;
    } finally {
      await session.close();
      stopHandling();
    }
  },
};
