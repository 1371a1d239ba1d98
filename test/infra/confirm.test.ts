// Off a terminal, apply cannot ask: a plan that removes anything needs --yes; one that only
// creates and changes in place goes ahead. plan and apply count the same unit, steps.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { jsonLines } from "../cli/run-starbase.ts";
import { applyInfra, type Lab, mutating, starbase, startLab } from "./harness.ts";

const NEW_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPr7nh4XVBgm3aT3aDDAs7cRDbkvTM5HaNLbCj/5mjo8 other@laptop";

describe("apply off a terminal", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab();
    expect((await applyInfra(lab)).rc).toBe(0);
  });
  afterAll(() => lab.stop());

  test("plan and apply count steps, and say so", async () => {
    // A balloon floor: a change a running VM takes at once (cores would wait for a restart).
    lab.editSpec((doc) => doc.setIn(["nodes", "servers", "vm", "balloon"], 4096));
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.rc).toBe(2);
    expect(plan.stdout).toContain("Plan (infra): 26 steps: 6 to change, 20 unchanged\n");
    const planJson = jsonLines((await starbase(lab, ["plan", lab.specFile, "--phase", "infra", "--output", "json"])).stdout).at(-1)!;
    expect(planJson.counts).toEqual({ create: 0, change: 6, remove: 0, unchanged: 20, pendingRestart: 0, notInSpec: 0, knownAfter: 0, blocked: 0, failed: 0 });

    // Only changes in place: no question, no --yes needed.
    const apply = await starbase(lab, ["apply", lab.specFile, "--phase", "infra", "--output", "json"]);
    expect(apply.rc).toBe(0);
    expect(apply.stderr).not.toContain("--yes");
    const events = jsonLines(apply.stdout);
    expect(events.at(-1)).toMatchObject({ type: "apply", ok: true, counts: { create: 0, change: 6, remove: 0, unchanged: 20, pendingRestart: 0, notInSpec: 0, blocked: 0, failed: 0 } });
    expect(events.find((e) => e.type === "run-end")).toMatchObject({ counts: { changed: 6, unchanged: 20 } });

    const again = await applyInfra(lab);
    expect(again.stdout).toContain("No changes: the infra of homelab matches the spec (26 steps checked).");
  }, 120_000);

  test("a plan that removes anything stops without --yes, with one line that says why", async () => {
    lab.editSpec((doc) => doc.setIn(["ssh", "authorizedKeys"], doc.createNode([NEW_KEY])));
    const before = lab.emu.requestLog.length;
    const run = await applyInfra(lab);
    expect(run.rc).toBe(1);
    const reason = run.stderr.split("\n").filter((line) => line.includes("--yes"));
    expect(reason).toEqual([`the plan has 11 removals (see \`starbase plan ${lab.specFile}\`): pass --yes to apply it; not on a terminal, so apply cannot ask`]);
    expect(run.stdout).toBe("");

    const json = await starbase(lab, ["apply", lab.specFile, "--phase", "infra", "--output", "json"]);
    expect(json.rc).toBe(1);
    expect(jsonLines(json.stdout)).toEqual([{ type: "error", message: reason[0] }]);
    // Nothing was written, not even the lock.
    expect(mutating(lab.emu.requestLog.slice(before))).toEqual([]);

    const yes = await applyInfra(lab, "--yes");
    expect(yes.rc).toBe(0);
    expect(yes.stdout).toMatch(/^ {2}- seed ISO local:iso\/starbase_homelab_lb01_[0-9a-f]{12}\.iso on node01 \(replaced by/m);
  }, 120_000);
});
