// Live progress of cluster steps reaches the terminal: what a family reports while it observes
// (boot waiting for SSH) and while it acts (waiting for node Ready) is the step's live line on
// the TTY reporter, through the same runnables and engine apply uses.
import { expect, test } from "bun:test";
import { runSteps } from "../../src/engine/index.ts";
import { type ChangeLog, familyRunnables, RETRY } from "../../src/plan/runnables.ts";
import type { StepFamily } from "../../src/steps/family.ts";
import { ttyReporter } from "../../src/ui/tty.ts";
import { Collector } from "../ui/fixtures.ts";
import { screen } from "../ui/screen.ts";

test("a step's report while observing and while acting is its live line on the TTY, naming host and wait", async () => {
  const out = new Collector();
  const reporter = ttyReporter(out, { refreshMs: 60_000, color: false });
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const seen: string[][] = [];
  const family: StepFamily<null> = {
    kinds: ["boot", "server-rest"],
    async observe(_run, step, ctx) {
      if (step.kind === "boot") {
        ctx.report?.("server02: waiting for SSH (12 s)");
        seen.push(screen(out.text));
        return { changes: [] };
      }
      return {
        changes: [{ op: "+", subject: "RKE2 on server02", reason: "join" }],
        apply: async (act) => {
          act.report("server02: waiting for node Ready (41 s)");
          seen.push(screen(out.text));
          await gate;
        },
      };
    },
  };
  const steps = [
    { id: "boot:server02", kind: "boot", host: "server02", needs: [] },
    { id: "server-rest:server02", kind: "server-rest", host: "server02", needs: ["boot:server02"] },
  ];
  const log: ChangeLog = new Map();
  const running = runSteps(familyRunnables(steps, [family], null, { mode: "apply", log }), { retry: RETRY, onEvent: reporter.onEvent });
  while (seen.length < 2) await Bun.sleep(5);
  release();
  const summary = await running;
  reporter.close();
  expect(summary.ok).toBe(true);
  expect(seen[0]!.some((line) => /^\s+boot:server02  .+  server02: waiting for SSH \(12 s\)$/.test(line))).toBe(true);
  expect(seen[1]!.some((line) => /^\s+server-rest:server02  .+  server02: waiting for node Ready \(41 s\)$/.test(line))).toBe(true);
});
