// `plan FILE` against the live cluster: the infra steps observe everything and act on
// nothing; every step prints what it would create (+), change (~, field: old → new), remove
// (-), leave alone (=) or refuse to do silently (!), with the reason.

import { formatChange } from "../../steps/changes.ts";
import { EXIT_ERROR, EXIT_OK, type CommandContext } from "../command.ts";
import { openInfraSession } from "../infra-session.ts";
import { countChanges, runLive, stepChanges } from "../live-run.ts";

const EXIT_CHANGES = 2;

export async function planLive({ args, out }: CommandContext): Promise<number> {
  const phase = args.options.get("phase") ?? "all";
  if (phase === "cluster") {
    out.error("a live plan of the cluster phase is not available yet; use plan --offline --phase cluster");
    return EXIT_ERROR;
  }
  const file = args.positionals[0]!;
  const session = await openInfraSession(out, file, { purpose: "converge" });
  if (typeof session === "number") return session;
  try {
    const { infraRunnables, INFRA_RETRY } = await import("../../plan/live.ts");
    const log = new Map();
    const steps = infraRunnables(session.run, { mode: "plan", log });
    const summary = await runLive(out, steps, { retry: INFRA_RETRY, progress: "tty", controller: new AbortController() });
    const results = stepChanges(steps, log, summary);
    const counts = countChanges(results);
    const pending = counts.create + counts.change + counts.remove;
    const failed = results.filter((r) => r.error !== undefined).length;
    out.event({ type: "plan", offline: false, phase: "infra", steps: results, counts, failed });

    const style = out.outStyle;
    const colour = { "+": style.green, "~": style.yellow, "-": style.red, "=": style.dim, "!": style.red.bold };
    const lines: string[] = [];
    for (const r of results) {
      lines.push(style.bold(r.id));
      for (const c of r.changes) lines.push(`  ${colour[c.op](formatChange(c))}`);
      if (r.error !== undefined && !r.changes.some((c) => c.op === "!")) lines.push(`  ${style.red(`error: ${r.error}`)}`);
    }
    const total = `Plan (infra): ${counts.create} to create, ${counts.change} to change, ${counts.remove} to remove, ${counts.unchanged} unchanged`
      + (failed > 0 ? `, ${failed} step${failed === 1 ? "" : "s"} failed` : "");
    if (phase === "all") lines.push(style.dim("The cluster phase (boot onward) is not observed by a live plan yet."));
    out.result(`${lines.join("\n")}\n${failed > 0 ? style.red(total) : pending > 0 ? style.yellow(total) : style.green(total)}\n`);
    if (failed > 0) return EXIT_ERROR;
    return pending > 0 ? EXIT_CHANGES : EXIT_OK;
  } finally {
    await session.close();
  }
}
