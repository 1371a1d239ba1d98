// A cluster run reads each host's facts once; a step that acts on a host makes the run forget
// that host's facts (whether or not the act succeeded), so a later step reads the host as it
// is now. A stub node OS counts the reads per host.
import { describe, expect, test } from "bun:test";
import type { StepNode } from "../../src/graph/types.ts";
import { buildInventory } from "../../src/inventory/build.ts";
import type { NodeFacts, NodeOs } from "../../src/nodeos/index.ts";
import { forgettingFactsAfterActing } from "../../src/plan/cluster.ts";
import type { SshHost } from "../../src/ssh/pool.ts";
import { type ClusterRun, createClusterRun } from "../../src/steps/cluster/context.ts";
import type { StepFamily } from "../../src/steps/family.ts";
import { realisticSpec, SECRETS } from "../render/fixtures.ts";

function countingRun(): { run: ClusterRun; reads: Map<string, number> } {
  const reads = new Map<string, number>();
  const os = {
    factsScript: () => "facts",
    parseFacts: () => ({}) as NodeFacts,
  } as unknown as NodeOs;
  const ssh = (host: { name: string }) => ({
    name: host.name,
    exec: async () => {
      reads.set(host.name, (reads.get(host.name) ?? 0) + 1);
      return { code: 0, stdout: "", stderr: "" };
    },
  }) as unknown as SshHost;
  const run = createClusterRun({ inv: buildInventory(realisticSpec()), os, secrets: SECRETS, ssh, connectTcp: () => Promise.reject(new Error("no TCP here")) });
  return { run, reads };
}

function step(id: string, host?: string): StepNode {
  return { id, kind: "test-kind", needs: [], ...(host !== undefined && { host }) } as StepNode;
}

/** A family whose step always has something to do; its act fails when asked to. */
function actingFamily(fail: boolean): StepFamily<ClusterRun> {
  return {
    kinds: ["test-kind"],
    observe: async () => ({
      changes: [{ op: "~", subject: "a file", reason: "differs" }],
      apply: async () => {
        if (fail) throw new Error("the act failed half way");
      },
    }),
  };
}

const act = { signal: new AbortController().signal, report: () => {} };

describe("facts of a cluster run", () => {
  test("read once per host and run; concurrent askers share one read", async () => {
    const { run, reads } = countingRun();
    const server = run.inv.firstServer;
    await Promise.all([run.facts(server, { fresh: false }), run.facts(server, { fresh: false })]);
    await run.facts(server, { fresh: false });
    expect(reads.get(server.name)).toBe(1);
    await run.facts(server, { fresh: true });
    expect(reads.get(server.name)).toBe(2);
  });

  test("after a step acted on a host, that host's facts are read again and no other host's", async () => {
    for (const fail of [false, true]) {
      const { run, reads } = countingRun();
      const [server, other] = [run.inv.firstServer, run.inv.hosts.find((h) => h.name !== run.inv.firstServer.name)!];
      await run.facts(server, { fresh: false });
      await run.facts(other, { fresh: false });
      const family = forgettingFactsAfterActing(actingFamily(fail));
      const observed = await family.observe(run, step(`server-first:${server.name}`, server.name), { fresh: false });
      await run.facts(server, { fresh: false });
      expect(reads.get(server.name)).toBe(1); // observing alone forgets nothing
      const acting = observed.apply!(act);
      if (fail) await expect(acting).rejects.toThrow("the act failed half way");
      else await acting;
      await run.facts(server, { fresh: false });
      await run.facts(other, { fresh: false });
      expect([reads.get(server.name), reads.get(other.name)]).toEqual([2, 1]);
    }
  });

  test("a step without a host forgets every host's facts", async () => {
    const { run, reads } = countingRun();
    for (const host of run.inv.hosts) await run.facts(host, { fresh: false });
    const observed = await forgettingFactsAfterActing(actingFamily(false)).observe(run, step("kured"), { fresh: false });
    await observed.apply!(act);
    for (const host of run.inv.hosts) await run.facts(host, { fresh: false });
    expect(run.inv.hosts.every((host) => reads.get(host.name) === 2)).toBe(true);
  });

  test("a step with nothing to do is passed through unchanged", async () => {
    const { run } = countingRun();
    const quiet: StepFamily<ClusterRun> = { kinds: ["test-kind"], observe: async () => ({ changes: [] }) };
    const observed = await forgettingFactsAfterActing(quiet).observe(run, step("boot:x", "x"), { fresh: false });
    expect(observed).toEqual({ changes: [] });
  });
});
