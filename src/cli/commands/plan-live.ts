// `plan FILE` against the live cluster: the infra steps observe everything and act on
// nothing; every step prints what it would create (+), change (~, field: old → new), remove
// (-), leave alone (=) or refuse to do silently (!), with the reason.

import type { ChalkInstance } from "chalk";
import type { ConvergePlan } from "../../plan/converge.ts";
import { formatChange } from "../../steps/observed.ts";
import { formatStepCounts, type StepChanges } from "../../plan/walk.ts";
import { EXIT_ERROR, EXIT_OK, type CommandContext } from "../command.ts";
import { type SessionPhase, withConvergeSession } from "../session.ts";
import type { Output } from "../output.ts";

const EXIT_CHANGES = 2;

export async function planLive(ctx: CommandContext): Promise<number> {
  const { args, out } = ctx;
  const phase = (args.options.get("phase") ?? "all") as SessionPhase;
  return withConvergeSession(ctx, args.positionals[0]!, phase, async (session, sink) => {
    const { planConverge } = await import("../../plan/converge.ts");
    return showPlan(out, await planConverge(session, sink), phase);
  }, { observeOnly: true });
}

function showPlan(out: Output, plan: ConvergePlan, phase: SessionPhase): number {
  const { steps, counts, pending, failed } = plan;
  out.event({ type: "plan", offline: false, phase, steps, counts });
  const style = out.outStyle;
  const lines = planLines(style, steps, { all: true });
  const total = `Plan (${phase}): ${formatStepCounts(counts)}`;
  out.result(`${lines.join("\n")}\n${failed > 0 ? style.red(total) : pending > 0 ? style.yellow(total) : style.green(total)}\n`);
  if (failed > 0) return EXIT_ERROR;
  return pending > 0 ? EXIT_CHANGES : EXIT_OK;
}

/**
 * Per step its id, then its "+ ~ - = !" lines and its error. `all: false` (apply's question)
 * keeps only the steps that act and their lines that are not "=".
 */
export function planLines(style: ChalkInstance, steps: readonly StepChanges[], { all }: { all: boolean }): string[] {
  const colour = { "+": style.green, "~": style.yellow, "-": style.red, "=": style.dim, "!": style.red.bold };
  const lines: string[] = [];
  for (const r of steps) {
    if (!all && !r.acts) continue;
    lines.push(style.bold(r.id));
    if (r.knownAfter !== undefined) lines.push(`  ${style.dim(`known after ${r.knownAfter} (what it looks at does not exist yet)`)}`);
    for (const c of r.changes) if (all || c.op !== "=") lines.push(`  ${colour[c.op](formatChange(c))}`);
    if (r.error !== undefined && !r.changes.some((c) => c.op === "!")) lines.push(`  ${style.red(`error: ${r.error}`)}`);
  }
  return lines;
}
