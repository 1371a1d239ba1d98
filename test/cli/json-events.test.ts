// Every line the real commands print with --output json has one of the shapes in
// docs/json-events.md, and every shape there is printed by some command: the page is the
// contract and cannot drift from the code.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { jsonReporter } from "../../src/ui/json.ts";
import { applyInfra, type Lab, starbase as starbaseInLab, startLab } from "../infra/harness.ts";
import { Collector, sampleEvents } from "../ui/fixtures.ts";
import { fakePlan } from "../plan/known-after-fixture.ts";
import { eventShapes, matchEvent } from "./json-shapes.ts";
import { cleanEnv, exampleFile, repo, starbase, withTempDir } from "./run-starbase.ts";

const shapes = eventShapes(readFileSync(join(repo, "docs", "json-events.md"), "utf8"));
/** Headings of the variants some output matched. */
const seen = new Set<string>();
const SECRET = "json-events-test-secret";

/** Checks every stdout line; returns the parsed objects. */
function checkLines(what: string, stdout: string): Record<string, unknown>[] {
  const objects: Record<string, unknown>[] = [];
  for (const line of stdout.split("\n").filter((l) => l !== "")) {
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch {
      throw new Error(`${what}: stdout line is not JSON: ${line.slice(0, 200)}`);
    }
    const match = matchEvent(shapes, value);
    if ("problem" in match) throw new Error(`${what}: ${line.slice(0, 300)}\n  matches no shape in docs/json-events.md: ${match.problem}`);
    seen.add(match.variant.heading);
    objects.push(value);
  }
  return objects;
}

describe("docs/json-events.md", () => {
  test("the doc has shapes for every command's events", () => {
    expect([...shapes.keys()].sort()).toEqual(
      ["apply", "destroy", "diagnostic", "error", "file", "graph", "help", "init", "kubeconfig", "plan", "run-end", "run-start", "step-end",
        "step-progress", "step-retry", "step-skip", "step-start", "summary", "version", "waiting"].sort(),
    );
  });

  test("commands without Proxmox: every line has a documented shape", async () => {
    const env = cleanEnv({ STARBASE_HOSTKEY_SECRET: SECRET });
    const runs: [string, string[], number][] = [
      ["version", ["version"], 0],
      ["--version", ["--version"], 0],
      ["help", ["help"], 0],
      ["help render", ["help", "render"], 0],
      ["validate (valid, with warnings)", ["validate", exampleFile], 0],
      ["validate (invalid)", ["validate", join(repo, "test", "spec", "broken", "document-empty.yaml")], 2],
      ["plan --offline", ["plan", exampleFile, "--offline"], 0],
      ["plan of a missing file", ["plan", "no-such.yaml", "--offline"], 1],
      ["graph", ["graph", exampleFile], 0],
      ["graph --format mermaid", ["graph", exampleFile, "--format", "mermaid"], 0],
      ["init to stdout", ["init"], 0],
      ["usage error", ["nonsense"], 64],
    ];
    for (const [what, args, rc] of runs) {
      const run = starbase([...args, "--output", "json"], { env });
      expect({ what, rc: run.rc }).toEqual({ what, rc });
      expect(checkLines(what, run.stdout).length).toBeGreaterThan(0);
    }
    await withTempDir((dir) => {
      for (const [what, args] of [
        ["render", ["render", exampleFile, "--out", join(dir, "out")]],
        ["init FILE", ["init", join(dir, "cluster.yaml")]],
      ] as const) {
        const run = starbase([...args, "--output", "json"], { env });
        expect({ what, rc: run.rc }).toEqual({ what, rc: 0 });
        checkLines(what, run.stdout);
      }
    });
  });

  test("a live plan with steps known only after their needs act (no cluster family observes live yet: plan/'s walk with fake families)", async () => {
    const { steps, counts } = await fakePlan(true);
    expect(steps.some((s) => s.knownAfter !== undefined)).toBe(true);
    checkLines("plan with knownAfter", `${JSON.stringify({ type: "plan", offline: false, phase: "infra", steps, counts })}\n`);
  });

  test("the engine's events, as the JSON reporter prints them (a heartbeat, a retry, a skip)", () => {
    const out = new Collector();
    const reporter = jsonReporter(out);
    for (const e of sampleEvents()) reporter.onEvent(e);
    expect(checkLines("jsonReporter", out.text).map((o) => o.type)).toEqual(sampleEvents().map((e) => e.type));
  });

  describe("against the emulator", () => {
    let lab: Lab;
    beforeAll(async () => {
      lab = await startLab({ emulator: { faults: { seed: 3, rates: { taskLockTimeout: 0.3 } } } });
    });
    afterAll(() => lab.stop());
    const json = (args: string[]) => starbaseInLab(lab, [...args, "--output", "json"]);

    test("a live plan of both phases (no --phase): one graph; the cluster steps wait for their VMs and no node is contacted", async () => {
      const plan = await json(["plan", lab.specFile]);
      const event = checkLines("plan (all phases)", plan.stdout).at(-1)! as { phase: string; steps: { id: string; kind: string; host?: string; knownAfter?: string }[] };
      expect(plan.rc).toBe(2);
      expect(event.phase).toBe("all");
      const boots = event.steps.filter((s) => s.kind === "boot");
      expect(boots.length).toBeGreaterThan(0);
      for (const boot of boots) expect({ id: boot.id, knownAfter: boot.knownAfter }).toEqual({ id: boot.id, knownAfter: `vm:${boot.host}` });
      // What follows boot is not observed either: it waits for what boot would find.
      const after = event.steps.filter((s) => !["image", "seed", "vm", "vms-not-in-spec", "boot"].includes(s.kind));
      expect(after.length).toBeGreaterThan(0);
      for (const step of after) expect({ id: step.id, known: step.knownAfter !== undefined }).toEqual({ id: step.id, known: true });
    });

    test("plan, apply (with retries), a refused apply, destroy, a failing apply", async () => {
      const plan = await json(["plan", lab.specFile, "--phase", "infra"]);
      expect(plan.rc).toBe(2);
      checkLines("plan (live)", plan.stdout);

      const apply = await json(["apply", lab.specFile, "--phase", "infra"]);
      expect(apply.rc).toBe(0);
      const events = checkLines("apply", apply.stdout);
      expect(events.some((e) => e.type === "step-retry")).toBe(true);

      lab.emu.setFaults({ rates: {} });
      const again = await json(["apply", lab.specFile, "--phase", "infra"]);
      expect(checkLines("apply (nothing to do)", again.stdout).map((e) => e.type)).toEqual(["apply"]);

      lab.editSpec((doc) => doc.setIn(["ssh", "authorizedKeys"], doc.createNode(["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPr7nh4XVBgm3aT3aDDAs7cRDbkvTM5HaNLbCj/5mjo8 x@y"])));
      const refused = await json(["apply", lab.specFile, "--phase", "infra"]);
      expect(refused.rc).toBe(1);
      expect(checkLines("apply without --yes", refused.stdout).map((e) => e.type)).toEqual(["error"]);

      const destroy = await json(["destroy", lab.specFile, "--yes"]);
      expect(destroy.rc).toBe(0);
      checkLines("destroy", destroy.stdout);

      lab.emu.setFaults({ rates: { taskFail: 1 }, failText: "storage 'local' is not online" });
      const failing = await json(["apply", lab.specFile, "--phase", "infra"]);
      expect(failing.rc).toBe(1);
      const failed = checkLines("a failing apply", failing.stdout);
      expect(failed.some((e) => e.type === "step-skip")).toBe(true);
      lab.emu.setFaults({ rates: {} });
      expect((await applyInfra(lab)).rc).toBe(0);
    }, 120_000);
  });

  test("every shape in the doc was printed by some command", () => {
    // `kubeconfig` needs lab hosts over SSH: test/cluster/kube.test.ts checks its line against this page.
    const documented = [...shapes.values()].flat().map((v) => v.heading).filter((heading) => heading !== "kubeconfig");
    expect(documented.filter((heading) => !seen.has(heading))).toEqual([]);
  });
});
