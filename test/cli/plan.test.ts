import { describe, expect, test } from "bun:test";
import { ANSI, exampleFile, jsonLines, starbase, withTempDir, writeEditedExample } from "./run-starbase.ts";

interface PlanHost {
  name: string;
  role: string;
  pveNode: string;
  vmid: number;
  ip: string;
  rebootWindow: { start: string; end: string };
}
interface PlanStep {
  id: string;
  kind: string;
  host?: string;
  pveNode?: string;
  needs: string[];
}
interface Plan {
  type: string;
  hosts: PlanHost[];
  steps: PlanStep[];
}

function planJson(file: string, extra: string[] = []): Plan {
  const run = starbase(["plan", file, "--offline", "--output", "json", ...extra]);
  expect(run.rc).toBe(0);
  const lines = jsonLines(run.stdout);
  expect(lines).toHaveLength(1);
  return lines[0] as unknown as Plan;
}

/** The concept document's eight windows: slots [17, 18] × offsets [0, 15, 30, 45], 1 h each. */
const EIGHT_WINDOWS: { start: string; end: string }[] = [
  { start: "17:00", end: "18:00" },
  { start: "17:15", end: "18:15" },
  { start: "17:30", end: "18:30" },
  { start: "17:45", end: "18:45" },
  { start: "18:00", end: "19:00" },
  { start: "18:15", end: "19:15" },
  { start: "18:30", end: "19:30" },
  { start: "18:45", end: "19:45" },
];

describe("plan --offline --output json on examples/cluster.yaml", () => {
  const plan = planJson(exampleFile);
  const host = (name: string) => plan.hosts.find((h) => h.name === name)!;

  test("reproduces the concept document's placement table", () => {
    const workload = (node: string) => plan.hosts.filter((h) => h.pveNode === node).map((h) => h.name).sort();
    expect(workload("node01")).toEqual(["agent01", "lb01", "server01", "server04"]);
    expect(workload("node02")).toEqual(["agent02", "lb02", "server02", "server05"]);
    expect(workload("node03")).toEqual(["agent03", "server03", "server06"]);
    expect(plan.hosts).toHaveLength(11);
  });

  test("hosts in declaration order with role, VMID and IP", () => {
    expect(plan.hosts.map((h) => [h.name, h.role, h.vmid, h.ip])).toEqual([
      ["lb01", "loadbalancer", 200, "10.0.20.21"],
      ["lb02", "loadbalancer", 201, "10.0.20.22"],
      ...[1, 2, 3, 4, 5, 6].map((n) => [`server0${n}`, "server", 209 + n, `10.0.20.3${n}`]),
      ...[1, 2, 3].map((n) => [`agent0${n}`, "agent", 219 + n, `10.0.20.4${n}`]),
    ]);
    expect(Object.keys(host("lb01")).sort()).toEqual(["ip", "name", "pveNode", "rebootWindow", "role", "vmid"]);
  });

  test("the hosts of each type take the windows in order", () => {
    expect(host("lb01").rebootWindow).toEqual(EIGHT_WINDOWS[0]!);
    expect(host("lb02").rebootWindow).toEqual(EIGHT_WINDOWS[1]!);
    expect(plan.hosts.filter((h) => h.role === "server").map((h) => h.rebootWindow)).toEqual(EIGHT_WINDOWS.slice(0, 6));
    expect(plan.hosts.filter((h) => h.role === "agent").map((h) => h.rebootWindow)).toEqual(EIGHT_WINDOWS.slice(0, 3));
  });

  test("steps: the DAG of design.md §4, in the documented shape", () => {
    const step = (id: string) => plan.steps.find((s) => s.id === id)!;
    expect(step("vm:server04")).toEqual({
      id: "vm:server04",
      kind: "vm",
      host: "server04",
      pveNode: "node01",
      needs: ["image:node01", "seed:server04"],
      limits: ["vm-create:node01"],
    } as PlanStep);
    expect(step("lb-rest:lb02").needs).toEqual(["lb-first:lb01", "boot:lb02"]);
    expect(step("server-rest:server03").needs).toEqual(["server-rest:server02", "boot:server03", "lb-first:lb01"]);
    expect(step("agents:agent02").needs).toEqual(["server-first:server01", "lb-first:lb01", "boot:agent02"]);
    expect(step("kubeconfig")).toEqual({ id: "kubeconfig", kind: "kubeconfig", needs: ["server-first:server01", "lb-first:lb01", "lb-rest:lb02"] });
    expect(new Set(plan.steps.map((s) => s.kind))).toEqual(
      new Set(["image", "seed", "vm", "boot", "lb-first", "lb-rest", "server-first", "server-rest", "agents", "kured", "kubeconfig"]),
    );
  });

  test("graph --format json prints the same steps", () => {
    const graph = starbase(["graph", exampleFile, "--format", "json"]);
    expect(graph.rc).toBe(0);
    expect(JSON.parse(graph.stdout)).toEqual({ steps: plan.steps });
  });
});

describe("plan --offline", () => {
  test("nine agents: the eight windows 17:00–18:00 … 18:45–19:45, then around again", async () => {
    await withTempDir((dir) => {
      const file = writeEditedExample(dir, "nine-agents.yaml", [["count: 3", "count: 9"]]);
      const agents = planJson(file).hosts.filter((h) => h.role === "agent");
      expect(agents.map((h) => h.name)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => `agent0${n}`));
      expect(agents.map((h) => h.rebootWindow)).toEqual([...EIGHT_WINDOWS, EIGHT_WINDOWS[0]!]);
    });
  });

  test("text: the hosts table and the steps; exit 0; warnings on stderr only", () => {
    const run = starbase(["plan", exampleFile, "--offline"]);
    expect(run.rc).toBe(0);
    expect(run.stdout).toMatch(/^NAME +ROLE +PVE NODE +VMID +IP +REBOOT WINDOW$/m);
    expect(run.stdout).toMatch(/^server04 +server +node01 +213 +10\.0\.20\.34 +17:45–18:45$/m);
    expect(run.stdout).toMatch(/^lb02 +loadbalancer +node02 +201 +10\.0\.20\.22 +17:15–18:15$/m);
    expect(run.stdout).toMatch(/^ {2}agents:agent03 +needs server-first:server01, lb-first:lb01, boot:agent03$/m);
    expect(run.stdout).toContain("49 steps, 11 VMs to create");
    expect(run.stdout).not.toContain("warning:");
    expect(run.stderr).toContain("warning:");
    expect(run.stdout + run.stderr).not.toContain(ANSI);
  });

  test("--phase infra / cluster plan only that phase", () => {
    const infra = planJson(exampleFile, ["--phase", "infra"]);
    expect(new Set(infra.steps.map((s) => s.kind))).toEqual(new Set(["image", "seed", "vm"]));
    const cluster = planJson(exampleFile, ["--phase", "cluster"]);
    expect(cluster.steps.find((s) => s.id === "boot:lb01")!.needs).toEqual([]);
    expect(cluster.steps.some((s) => s.kind === "vm")).toBe(false);
  });

  test("an invalid spec: exit 1, the diagnostics, no plan", async () => {
    await withTempDir((dir) => {
      const file = writeEditedExample(dir, "broken.yaml", [["vip: 10.0.20.10", "vip: 10.0.20.31"]]);
      const run = starbase(["plan", file, "--offline", "--output", "json"]);
      expect(run.rc).toBe(1);
      const events = jsonLines(run.stdout);
      expect(events.some((e) => e.type === "plan")).toBe(false);
      expect(events.some((e) => e.type === "diagnostic" && e.severity === "error")).toBe(true);
      expect(run.stderr).toMatch(new RegExp(`^${file}:\\d+:\\d+: error: `, "m"));
    });
  });
});
