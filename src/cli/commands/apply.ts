import type { ApplyResult } from "../../plan/infra-flow.ts";
import { phases } from "../../plan/steps.ts";
import { formatChange } from "../../steps/changes.ts";
import { counted } from "../../ui/words.ts";
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, type Command } from "../command.ts";
import { deepOption, forceUnlockOption, withInfraSession } from "../infra-session.ts";
import { interruptible } from "../interrupt.ts";
import type { Output } from "../output.ts";

export const apply: Command = {
  name: "apply",
  summary: "converge the cluster on the spec",
  operands: "FILE",
  arity: [1, 1],
  options: [
    { name: "phase", value: "PHASE", choices: phases, description: "infra: image, seed ISOs and VMs through the Proxmox API only" },
    { name: "concurrency", value: "N", description: "steps running at once (default 8); VM creation is also limited per Proxmox node" },
    forceUnlockOption,
    deepOption,
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

    const forceUnlock = args.options.get("force-unlock") === true;
    return interruptible(out, (controller) => withInfraSession(out, args.positionals[0]!, "converge", async (session, sink) => {
      const { applyInfra } = await import("../../plan/infra-flow.ts");
      const result = await applyInfra(session, { ...(concurrency !== undefined && { concurrency }), forceUnlock, controller }, sink);
      return showApplied(out, session.inventory.spec.name, result);
    }, { readEveryConfig: args.options.get("deep") === true }));
  },
};

function showApplied(out: Output, cluster: string, result: ApplyResult): number {
  // Stopped by Ctrl-C while observing, or the lock was not taken: stderr already says why.
  if (result.outcome === "cancelled" || result.outcome === "not-locked") return EXIT_ERROR;
  out.event({ type: "apply", phase: "infra", ok: result.ok, steps: result.steps, counts: result.counts });
  // Changes Proxmox holds until a VM restarts: said on every run until they are active.
  const waiting = result.steps.flatMap((s) => s.changes.filter((c) => c.waitsForRestart === true)).map(formatChange);
  const waitingText = waiting.length === 0 ? "" : `Waiting for a restart of the VM:\n${waiting.map((line) => `  ${line}`).join("\n")}\n`;
  if (result.outcome === "unchanged") {
    // Failed steps as error lines (the reporter shows them only when it ran).
    for (const step of result.steps) {
      if (step.error !== undefined) out.error(`${step.id}: ${step.error}`);
    }
    if (result.ok && waiting.length > 0) out.result(`No changes made: the rest of the infra of ${cluster} matches the spec.\n${waitingText}`);
    else if (result.ok) out.result(`No changes: the infra of ${cluster} matches the spec (${counted(result.counts.unchanged, "thing")} checked).\n`);
    return result.ok ? EXIT_OK : EXIT_ERROR;
  }
  const made = result.made.map(formatChange);
  out.result((made.length === 0 ? "No changes were needed after all.\n" : `Changes made:\n${made.map((line) => `  ${line}`).join("\n")}\n`) + waitingText);
  return result.ok ? EXIT_OK : EXIT_ERROR;
}
