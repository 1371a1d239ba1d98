// `apply FILE` without --phase: both phases as one graph, each family seeing its own phase's run.
import { describe, expect, test } from "bun:test";
import { buildInventory } from "../../src/inventory/build.ts";
import { allPhase, type AllRun } from "../../src/plan/all.ts";
import { clusterPhase, implementedSteps } from "../../src/plan/cluster.ts";
import { infraPhase } from "../../src/plan/infra.ts";
import type { ClusterRun } from "../../src/steps/cluster/context.ts";
import type { InfraRun } from "../../src/steps/infra/context.ts";
import { conceptSpec } from "./concept-spec.ts";

const inv = buildInventory(conceptSpec());
const infraRun = { inv } as unknown as InfraRun;
const clusterRun = { inv } as unknown as ClusterRun;
const run: AllRun = { infra: infraRun, cluster: clusterRun, refreshed: () => run };
const phase = allPhase(infraPhase, clusterPhase());

describe("both phases as one graph", () => {
  const steps = phase.steps(run);
  const ids = steps.map((s) => s.id);

  test("every infra step, then every cluster step a family implements; boot:<host> needs vm:<host>", () => {
    expect(ids.filter((id) => id.startsWith("vm:")).length).toBe(inv.hosts.length);
    for (const host of inv.hosts) {
      const boot = steps.find((s) => s.id === `boot:${host.name}`);
      expect(boot?.needs).toEqual([`vm:${host.name}`]);
      expect(ids.indexOf(`vm:${host.name}`)).toBeLessThan(ids.indexOf(`boot:${host.name}`));
    }
    const kinds = new Set(phase.families.flatMap((f) => f.kinds));
    for (const step of steps) expect({ id: step.id, implemented: kinds.has(step.kind) }).toEqual({ id: step.id, implemented: true });
    // Every need names a step of the graph.
    for (const step of steps) for (const need of step.needs) expect({ step: step.id, need, known: ids.includes(need) }).toEqual({ step: step.id, need, known: true });
  });

  test("each family observes with its own phase's run", async () => {
    const got: unknown[] = [];
    const recording = <Run>(kind: string) => ({ kinds: [kind], observe: (r: Run) => (got.push(r), Promise.resolve({ changes: [] })) });
    const both = allPhase({ ...infraPhase, families: [recording<InfraRun>("vm")] }, { ...clusterPhase(), families: [recording<ClusterRun>("boot")] });
    const [vm, boot] = both.families;
    await vm!.observe(run, steps.find((s) => s.kind === "vm")!, { fresh: false });
    await boot!.observe(run, steps.find((s) => s.kind === "boot")!, { fresh: false });
    expect(got[0]).toBe(infraRun);
    expect(got[1]).toBe(clusterRun);
  });

  test("a step of a kind no family implements is left out with its needs, not reported as a bug", () => {
    const only = implementedSteps([
      { id: "a", kind: "boot", needs: ["x"] },
      { id: "b", kind: "kubeconfig", needs: ["a"] },
      { id: "c", kind: "boot", needs: ["a", "b"] },
    ], [{ kinds: ["boot"], observe: () => Promise.resolve({ changes: [] }) }]);
    expect(only).toEqual([{ id: "a", kind: "boot", needs: ["x"] }, { id: "c", kind: "boot", needs: ["a"] }]);
  });
});
