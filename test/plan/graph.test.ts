import { describe, expect, test } from "bun:test";
import { topologicalOrder } from "../../src/graph/order.ts";
import type { StepNode } from "../../src/graph/types.ts";
import { graphProblems } from "../../src/graph/validate.ts";
import { buildInventory } from "../../src/inventory/build.ts";
import { buildSteps } from "../../src/plan/graph.ts";
import { conceptSpec } from "./concept-spec.ts";

const inv = buildInventory(conceptSpec());
const steps = buildSteps(inv);
const byId = new Map(steps.map((s) => [s.id, s]));

function needsOf(id: string): string[] {
  const step = byId.get(id);
  if (!step) throw new Error(`no step ${id}`);
  return step.needs;
}

/** Everything a step waits for, directly or through its needs. */
function upstream(id: string, all: Map<string, StepNode> = byId): Set<string> {
  const seen = new Set<string>();
  const todo = [...(all.get(id)?.needs ?? [])];
  for (let need = todo.pop(); need !== undefined; need = todo.pop()) {
    if (seen.has(need)) continue;
    seen.add(need);
    todo.push(...(all.get(need)?.needs ?? []));
  }
  return seen;
}

const hosts = ["lb01", "lb02", ...[1, 2, 3, 4, 5, 6].map((n) => `server0${n}`), "agent01", "agent02", "agent03"];

describe("buildSteps on the concept topology", () => {
  test("is a DAG, declared in dependency order", () => {
    expect(graphProblems(steps)).toEqual([]);
    expect(topologicalOrder(steps).map((s) => s.id)).toEqual(steps.map((s) => s.id));
  });

  test("has one step of each kind where the design says", () => {
    const idsOf = (kind: string) => steps.filter((s) => s.kind === kind).map((s) => s.id);
    expect(idsOf("image")).toEqual(["image:node01", "image:node02", "image:node03"]);
    expect(idsOf("seed")).toEqual(hosts.map((h) => `seed:${h}`));
    expect(idsOf("vm")).toEqual(hosts.map((h) => `vm:${h}`));
    expect(idsOf("boot")).toEqual(hosts.map((h) => `boot:${h}`));
    expect(idsOf("lb-first")).toEqual(["lb-first:lb01"]);
    expect(idsOf("lb-rest")).toEqual(["lb-rest:lb02"]);
    expect(idsOf("server-first")).toEqual(["server-first:server01"]);
    expect(idsOf("server-rest")).toEqual([2, 3, 4, 5, 6].map((n) => `server-rest:server0${n}`));
    expect(idsOf("agents")).toEqual(["agents:agent01", "agents:agent02", "agents:agent03"]);
    expect(idsOf("kured")).toEqual(["kured"]);
    expect(idsOf("kubeconfig")).toEqual(["kubeconfig"]);
    expect(steps).toHaveLength(3 + 11 * 3 + 2 + 6 + 3 + 2);
  });

  test("image and seed need nothing; a VM needs its own node's image and its own seed", () => {
    for (const s of steps.filter((s) => s.kind === "image" || s.kind === "seed")) expect(s.needs).toEqual([]);
    expect(needsOf("vm:server04")).toEqual(["image:node01", "seed:server04"]);
    expect(needsOf("vm:lb02")).toEqual(["image:node02", "seed:lb02"]);
    expect(needsOf("vm:agent03")).toEqual(["image:node03", "seed:agent03"]);
  });

  test("VM creation holds the limit of its Proxmox node", () => {
    for (const host of inv.hosts) {
      expect(byId.get(`vm:${host.name}`)!.limits).toEqual([`vm-create:${host.pveNode}`]);
    }
    expect(steps.filter((s) => s.kind !== "vm").every((s) => s.limits === undefined)).toBe(true);
  });

  test("steps carry their host and Proxmox node", () => {
    expect(byId.get("image:node02")).toMatchObject({ kind: "image", pveNode: "node02" });
    expect(byId.get("image:node02")!.host).toBeUndefined();
    expect(byId.get("agents:agent02")).toMatchObject({ host: "agent02", pveNode: "node02" });
    expect(byId.get("server-rest:server05")).toMatchObject({ host: "server05", pveNode: "node02" });
    expect(byId.get("kured")!.host).toBeUndefined();
  });

  test("boot needs its VM only", () => {
    for (const h of hosts) expect(needsOf(`boot:${h}`)).toEqual([`vm:${h}`]);
  });

  test("the LB steps wait only for the LB VMs", () => {
    expect(needsOf("lb-first:lb01")).toEqual(["boot:lb01"]);
    expect(needsOf("lb-rest:lb02")).toEqual(["lb-first:lb01", "boot:lb02"]);
    const lbUpstream = [...upstream("lb-rest:lb02")];
    expect(lbUpstream.filter((id) => id.includes("server") || id.includes("agent"))).toEqual([]);
  });

  test("server-rest is a chain through the VIP, each after the one before", () => {
    expect(needsOf("server-first:server01")).toEqual(["boot:server01"]);
    expect(needsOf("server-rest:server02")).toEqual(["server-first:server01", "boot:server02", "lb-first:lb01"]);
    for (const n of [3, 4, 5, 6]) {
      expect(needsOf(`server-rest:server0${n}`)).toEqual([
        `server-rest:server0${n - 1}`,
        `boot:server0${n}`,
        "lb-first:lb01",
      ]);
    }
    expect(upstream("server-rest:server06")).toContain("server-rest:server02");
  });

  test("agents wait for the first server and the first LB, not for the other servers", () => {
    for (const a of ["agent01", "agent02", "agent03"]) {
      expect(needsOf(`agents:${a}`)).toEqual(["server-first:server01", "lb-first:lb01", `boot:${a}`]);
      expect([...upstream(`agents:${a}`)].filter((id) => id.startsWith("server-rest"))).toEqual([]);
    }
  });

  test("kured needs the first server only; kubeconfig also the LB pair (it is used once through the VIP)", () => {
    expect(needsOf("kured")).toEqual(["server-first:server01"]);
    expect(needsOf("kubeconfig")).toEqual(["server-first:server01", "lb-first:lb01", "lb-rest:lb02"]);
  });
});

describe("buildSteps variants", () => {
  test("no kured step when kured is disabled", () => {
    const spec = conceptSpec();
    spec.kured.enabled = false;
    const ids = buildSteps(buildInventory(spec)).map((s) => s.id);
    expect(ids).not.toContain("kured");
    expect(ids).toContain("kubeconfig");
  });

  test("one LB and one server: no lb-rest, no server-rest, still a DAG", () => {
    const spec = conceptSpec();
    spec.nodes.loadBalancers.hosts = [{ name: "lb01", ip: "10.0.20.21" }];
    spec.nodes.servers.hosts = [{ name: "server01", ip: "10.0.20.31" }];
    delete spec.nodes.agents;
    const small = buildSteps(buildInventory(spec));
    expect(graphProblems(small)).toEqual([]);
    expect(small.map((s) => s.kind)).not.toContain("lb-rest");
    expect(small.map((s) => s.kind)).not.toContain("server-rest");
    expect(small.map((s) => s.kind)).not.toContain("agents");
  });

  test("a host pinned outside proxmox.nodes still gets an image on its node", () => {
    const spec = conceptSpec();
    spec.nodes.servers.hosts![0]!.pveNode = "node09";
    const pinned = buildSteps(buildInventory(spec));
    expect(graphProblems(pinned)).toEqual([]);
    expect(pinned.filter((s) => s.kind === "image").map((s) => s.id)).toEqual([
      "image:node01",
      "image:node02",
      "image:node03",
      "image:node09",
    ]);
    expect(pinned.find((s) => s.id === "vm:server01")!.needs).toEqual(["image:node09", "seed:server01"]);
  });
});

describe("phases", () => {
  test("infra is image, seed and vm, unchanged", () => {
    const infra = buildSteps(inv, { phase: "infra" });
    expect(new Set(infra.map((s) => s.kind))).toEqual(new Set(["image", "seed", "vm"]));
    expect(infra).toEqual(steps.filter((s) => ["image", "seed", "vm"].includes(s.kind)));
    expect(graphProblems(infra)).toEqual([]);
  });

  test("cluster is boot onward, with the needs on infra steps dropped", () => {
    const cluster = buildSteps(inv, { phase: "cluster" });
    expect(cluster.map((s) => s.id)).toEqual(steps.filter((s) => !["image", "seed", "vm"].includes(s.kind)).map((s) => s.id));
    expect(graphProblems(cluster)).toEqual([]);
    for (const h of hosts) expect(cluster.find((s) => s.id === `boot:${h}`)!.needs).toEqual([]);
    expect(cluster.find((s) => s.id === "server-rest:server03")!.needs).toEqual([
      "server-rest:server02",
      "boot:server03",
      "lb-first:lb01",
    ]);
  });

  test("all is the default", () => {
    expect(buildSteps(inv, { phase: "all" })).toEqual(steps);
  });

  test("building the cluster phase leaves the full graph's needs untouched", () => {
    buildSteps(inv, { phase: "cluster" });
    expect(buildSteps(inv).find((s) => s.id === "boot:lb01")!.needs).toEqual(["vm:lb01"]);
  });
});
