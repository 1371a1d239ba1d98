import type { ApplyResult, ConvergePlan } from "../../plan/converge.ts";
import { formatStepCounts } from "../../plan/walk.ts";
import { phases } from "../../plan/graph.ts";
import { type Change, formatChange } from "../../steps/observed.ts";
import { counted } from "../../ui/words.ts";
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, type Command } from "../command.ts";
import { ask, canAsk, yesOption } from "../confirm.ts";
import { kubeconfigOutOption } from "./kubeconfig.ts";
import { forceUnlockOption, type SessionPhase, withConvergeSession } from "../session.ts";
import { interruptible } from "../interrupt.ts";
import type { Output, Stdin } from "../output.ts";

export const apply: Command = {
  name: "apply",
  summary: "converge the cluster on the spec",
  operands: "FILE",
  arity: [1, 1],
  options: [
    { name: "phase", value: "PHASE", choices: phases, description: "infra: image, seed ISOs and VMs through the Proxmox API only; cluster: boot onward over SSH only (no Proxmox credentials); all (default): both as one graph" },
    { name: "boot-timeout", value: "SECONDS", description: "how long boot waits for a host: SSH, cloud-init's first boot, a reboot (default 300)" },
    { name: "concurrency", value: "N", description: "steps running at once (default 8); VM creation is also limited per Proxmox node" },
    kubeconfigOutOption,
    yesOption,
    forceUnlockOption,
  ],
  description: [
    "Without --phase, the infra and the cluster phase run as one graph: each host's boot step starts",
    "as soon as its own VM runs. Both locks are taken: the Proxmox one, and the SSH one on the first",
    "server when its VM already runs.",
    "",
    "--phase cluster: over SSH alone (ssh.user with the ssh-agent of SSH_AUTH_SOCK and/or ssh.privateKey,",
    "through ssh.jumpHost), so it runs from a jump host that reaches the VMs but not Proxmox; no Proxmox",
    "credentials are read. Each VM must present the host key derived from ssh.hostKeySecret. boot waits",
    "for SSH, for cloud-init's first boot (an error there fails the host, with the tail of its log) and",
    "for the reboot a transactional package install needs (it reboots the host if that is pending). A",
    "host that fails (wrong host key, no answer on port 22, failed cloud-init) stops only its own",
    "steps; the others go on. The lock is /var/lib/starbase/run-<cluster>.lock on the first server.",
    "The last step writes the cluster's kubeconfig (server https://VIP:6443, entries named after the",
    "cluster, mode 0600) as <cluster>.kubeconfig beside FILE, or to -o PATH, only when it differs,",
    "and uses it once through the VIP (/readyz and the node list) before apply reports success.",
    "",
    "--phase infra: downloads the image onto every Proxmox node (checked against its SHA-256), uploads",
    "each host's cloud-init seed ISO and creates, updates and starts the VMs. Every step observes",
    "first and acts only on a difference, so a second apply changes nothing. Differences that would",
    "need a VM to be re-created (smaller disk, other node or VMID) are reported and never done.",
    "A change a running VM takes only at its next start (memory, cores, CPU type) is sent once,",
    "then shown as pending until restart; starbase never restarts a VM.",
    "A plan that removes anything (a \"-\" line that apply carries out, e.g. a seed ISO a new one",
    "replaces) is shown first and asked about on a terminal: apply goes on only after \"y\". --yes",
    "skips the question; off a terminal (or with --output json) such a plan needs --yes and stops",
    "without it, nothing done. A plan that only creates and changes in place is not asked about.",
    "A removal that shows up only when apply looks again under the lock needs --yes too.",
    "VMs of the cluster that the spec no longer names are listed (- … not in the spec) and left",
    "running; they are not removals and are not asked about.",
    "A run that finds nothing to do writes nothing. One that has work takes the cluster lock (the",
    "Proxmox pool starbase-lock-<cluster>/run; starbase-lock-<cluster> itself is kept, so a grant",
    "on it lasts), then observes again and acts. Only one run at a time: a second one names the",
    "holder and stops. A lock left by a dead process on this machine is taken over, one from",
    "another machine after 15 min without heartbeat (3 min with --force-unlock); a live run's",
    "lock never is.",
    "Ctrl-C: no new step starts, running ones may finish, the lock is released.",
    "Counts are of steps, as in plan: \"25 steps: 6 changed, 19 unchanged …\". After a failure it",
    "says \"run apply again to continue\" only when a retry can help (lock timeouts, lost answers,",
    "timeouts); otherwise it names the failures to fix first.",
    "JSON: the engine's events, then {type: \"apply\", …} (docs/json-events.md).",
    "",
    "Exit codes: 0 converged, 1 error (spec, Proxmox, a failed step, lock held, removals not",
    "confirmed), 64 usage error.",
  ].join("\n"),
  async run(ctx) {
    const { args, out, stdin } = ctx;
    const phase = (args.options.get("phase") ?? "all") as SessionPhase;
    const bootText = args.options.get("boot-timeout");
    const bootSeconds = typeof bootText === "string" ? Number(bootText) : undefined;
    if (bootSeconds !== undefined && (!Number.isInteger(bootSeconds) || bootSeconds < 1)) {
      out.error(`--boot-timeout must be a whole number of seconds, at least 1, not "${bootText}"`);
      return EXIT_USAGE;
    }
    const concurrencyText = args.options.get("concurrency");
    const concurrency = typeof concurrencyText === "string" ? Number(concurrencyText) : undefined;
    if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1)) {
      out.error(`--concurrency must be a whole number of at least 1, not "${concurrencyText}"`);
      return EXIT_USAGE;
    }

    const forceUnlock = args.options.get("force-unlock") === true;
    const yes = args.options.get("yes") === true;
    const file = args.positionals[0]!;
    const kubeconfigOut = args.options.get("out");
    return interruptible(out, (controller) => withConvergeSession(ctx, file, phase, async (session, sink) => {
      const { converge } = await import("../../plan/converge.ts");
      const result = await converge(session, {
        ...(concurrency !== undefined && { concurrency }),
        forceUnlock,
        controller,
        removeUnseen: yes,
        confirmRemovals: (plan, removals) => (yes ? Promise.resolve(true) : confirmRemovals(out, stdin, file, phase, plan, removals, controller.signal)),
      }, sink);
      return showApplied(out, session.inventory.spec.name, phase, result);
    }, {
      ...(bootSeconds !== undefined && { bootWaitMs: bootSeconds * 1000 }),
      ...(typeof kubeconfigOut === "string" && { kubeconfigOut }),
    }));
  },
};

/** On a terminal: the plan, then y/N. Elsewhere: a one-line refusal (stderr, and an error event). */
async function confirmRemovals(out: Output, stdin: Stdin, file: string, phase: SessionPhase, plan: ConvergePlan, removals: Change[], signal: AbortSignal): Promise<boolean> {
  const what = counted(removals.length, "removal");
  if (!canAsk(out, stdin)) {
    out.error(`the plan has ${what} (see \`starbase plan ${file}\`): pass --yes to apply it; not on a terminal, so apply cannot ask`);
    return false;
  }
  const { planLines } = await import("./plan-live.ts");
  out.message([...planLines(out.errStyle, plan.steps, { all: false }), `Plan (${phase}): ${formatStepCounts(plan.counts)}`].join("\n"));
  const answer = await ask(out, stdin, `This removes what the ${out.errStyle.red("-")} lines name (${what}). Apply? [y/N] `, signal);
  if (answer !== undefined && /^y(es)?$/i.test(answer)) return true;
  out.error("not confirmed: nothing changed");
  return false;
}

function showApplied(out: Output, cluster: string, phase: SessionPhase, result: ApplyResult): number {
  // Stopped by Ctrl-C while observing, not confirmed, or the lock was not taken: stderr already says why.
  if (result.outcome === "cancelled" || result.outcome === "not-confirmed" || result.outcome === "not-locked") return EXIT_ERROR;
  out.event({ type: "apply", phase, ok: result.ok, steps: result.steps, counts: result.counts });
  // Listed, not acted on: VMs of the cluster that the spec no longer names.
  const leftAlone = result.steps.flatMap((s) => s.changes.filter((c) => c.informational === true)).map(formatChange);
  const notInSpec = leftAlone.length === 0 ? "" : `Not in the spec, left running:\n${leftAlone.map((line) => `  ${line}`).join("\n")}\n`;
  // Changes Proxmox holds until a VM restarts: said on every run until they are active.
  const waiting = result.steps.flatMap((s) => s.changes.filter((c) => c.waitsForRestart === true)).map(formatChange);
  const waitingText = waiting.length === 0 ? "" : `Waiting for a restart of the VM:\n${waiting.map((line) => `  ${line}`).join("\n")}\n`;
  if (result.outcome === "unchanged") {
    // Failed steps as error lines (the reporter shows them only when it ran).
    for (const step of result.steps) {
      if (step.error !== undefined) out.error(`${step.id}: ${step.error}`);
    }
    if (result.ok) {
      const what = notInSpec === "" && waiting.length === 0
        ? `No changes: ${{ infra: `the infra of ${cluster} matches`, cluster: `the nodes of ${cluster} match`, all: `${cluster} matches` }[phase]} the spec (${counted(result.steps.length, "step")} checked).\n`
        : `No changes made (${counted(result.steps.length, "step")} checked).\n`;
      out.result(what + waitingText + notInSpec);
    }
    return result.ok ? EXIT_OK : EXIT_ERROR;
  }
  const made = result.made.map((change) => `  ${formatChange(change)}`).join("\n");
  if (result.ok) {
    // Under the lock, another run may have done it all since the look.
    out.result((made === "" ? "No changes were needed after all.\n" : `Changes made:\n${made}\n`) + waitingText + notInSpec);
    return EXIT_OK;
  }
  out.result((made === "" ? "The run failed (see above); no step finished its changes.\n" : `The run failed (see above); changes made by the steps that finished:\n${made}\n`) + waitingText + notInSpec);
  return EXIT_ERROR;
}
