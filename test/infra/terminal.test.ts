// plan, apply and destroy on a real pseudo-terminal: the look before acting is shown as looking
// (no step outcomes, no count), and apply asks before it removes anything.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { screen } from "../ui/screen.ts";
import { applyInfra, type Lab, mutating, startLab } from "./harness.ts";
import { onTerminal } from "./terminal.ts";

const QUESTION = "Apply? [y/N] ";
/** A step's end as a run reports it, e.g. "vm:server01 changed (3 ms)". */
const STEP_OUTCOME = /^\S+:\S+ (changed|unchanged) \(/;
/** The engine's count line at the end of a run. */
const RUN_COUNT = /^\d+ steps?: \d+ changed, \d+ unchanged/;

/** The screen as it stood when `prompt` first appeared. */
function screenAt(output: string, prompt: string): string[] {
  const at = output.indexOf(prompt);
  expect(at).toBeGreaterThan(0);
  return screen(output.slice(0, at + prompt.length));
}

describe("on a terminal", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab();
    expect((await applyInfra(lab)).rc).toBe(0);
  });
  afterAll(() => lab.stop());

  test("plan shows that it is observing, and no outcomes or count of a run", async () => {
    lab.editSpec((doc) => doc.setIn(["nodes", "servers", "vm", "cores"], 6));
    const run = await onTerminal(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(run.rc).toBe(2);
    expect(run.output).toContain("observing 26 steps");
    const shown = screen(run.output);
    expect(shown.filter((line) => STEP_OUTCOME.test(line) || RUN_COUNT.test(line))).toEqual([]);
    expect(shown.filter((line) => line.includes("observing"))).toEqual([]);
    expect(shown.at(-1)).toBe("Plan (infra): 26 steps: 6 to change, 20 unchanged");
  }, 60_000);

  test("apply asks before it removes anything; no leaves everything as it was", async () => {
    lab.editSpec((doc) => doc.setIn(["ssh", "authorizedKeys"], doc.createNode(["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPr7nh4XVBgm3aT3aDDAs7cRDbkvTM5HaNLbCj/5mjo8 other@laptop"])));
    const before = lab.emu.requestLog.length;
    const run = await onTerminal(lab, ["apply", lab.specFile, "--phase", "infra"], [{ prompt: QUESTION, reply: "n" }]);
    expect(run.rc).toBe(1);
    const asked = screenAt(run.output, QUESTION);
    // The look is not shown as a finished run before the question.
    expect(asked.filter((line) => STEP_OUTCOME.test(line) || RUN_COUNT.test(line))).toEqual([]);
    expect(asked.filter((line) => /^ {2}- seed ISO local:iso\/starbase_homelab_\S+ on node0\d \(replaced by/.test(line))).toHaveLength(11);
    expect(asked).toContain("Plan (infra): 26 steps: 11 to create, 11 to change, 4 unchanged");
    expect(asked.at(-1)).toBe(`This removes what the - lines name (11 removals). ${QUESTION.trimEnd()}`);
    expect(run.output).toContain("not confirmed: nothing changed");
    expect(mutating(lab.emu.requestLog.slice(before))).toEqual([]);
  }, 60_000);

  test("yes applies the plan; a removal that appeared meanwhile is not made", async () => {
    const intruder = "local:iso/starbase_homelab_lb01_0123456789ab.iso";
    const run = await onTerminal(lab, ["apply", lab.specFile, "--phase", "infra"], [
      { prompt: QUESTION, reply: "y", meanwhile: () => void lab.emu.putFile("node01", intruder, "seed-like") },
    ]);
    expect(run.rc).toBe(1);
    expect(run.output).toContain(`would remove what the confirmed plan did not show: - seed ISO ${intruder} on node01`);
    expect(lab.emu.state.volume("node01", intruder)).toBeDefined();
    const shown = screen(run.output);
    // One count, of the run that acted; step outcomes only after the question.
    expect(shown.filter((line) => RUN_COUNT.test(line))).toEqual([expect.stringMatching(/^26 steps: 21 changed, 4 unchanged, 1 failed, 0 not run in /)]);
    const asked = shown.findIndex((line) => line.endsWith(QUESTION.trimEnd()));
    expect(shown.findIndex((line) => STEP_OUTCOME.test(line))).toBeGreaterThan(asked);
    expect(shown).toContain("a retry cannot change the failure of vm:lb01: fix what it names, then run apply again");
  }, 60_000);

  test("--yes does not ask, and makes the removal it now shows", async () => {
    const run = await onTerminal(lab, ["apply", lab.specFile, "--phase", "infra", "--yes"]);
    expect(run.rc).toBe(0);
    expect(run.output).not.toContain(QUESTION);
    expect(lab.emu.state.volumes.filter((v) => v.volid.startsWith("local:iso/starbase_homelab_lb01_"))).toHaveLength(1);
  }, 60_000);

  test("destroy's look is not shown as a finished run before its question", async () => {
    const prompt = "Type the cluster name (homelab) to go on: ";
    const run = await onTerminal(lab, ["destroy", lab.specFile], [{ prompt, reply: "no" }]);
    expect(run.rc).toBe(1);
    const asked = screenAt(run.output, prompt);
    expect(asked.filter((line) => STEP_OUTCOME.test(line) || RUN_COUNT.test(line))).toEqual([]);
    expect(asked.filter((line) => /^ {2}- VM /.test(line))).toHaveLength(11);
    expect(lab.emu.state.vms.size).toBe(11);
  }, 60_000);
});
