// The infra phase at scale against the emulator: 3 Proxmox nodes × 50 VMs.
//   - no-op plan and no-op apply (the real CLI): API requests, wall time, peak memory; each VM's
//     config is read on every run, and its status where pvestatd's sample in /cluster/resources
//     does not say running (measured once before the VMs are sampled, then in the steady state);
//   - fresh apply with emulated task durations: wall time against the critical path of the
//     step graph, where VM creations on one node form a chain (limit vm-create:<node> = 1).
// Run: bun bench/infra.ts. Prints a table; asserts nothing.
import { runSteps, type EngineEvent } from "../src/engine/index.ts";
import { criticalPath } from "./critical-path.ts";
import { loadCluster } from "../src/plan/load.ts";
import { connectProxmox } from "../src/plan/connect.ts";
import { infraPhase } from "../src/plan/infra.ts";
import { familyRunnables, RETRY } from "../src/plan/runnables.ts";
import { createInfraRun } from "../src/steps/infra/context.ts";
import { type Lab, startLab } from "../test/infra/harness.ts";

const AGENTS = 145; // + 2 load balancers + 3 servers = 150 VMs, 50 per node
/** Per run: /version, /cluster/resources and a content listing per node, plus one config read per VM. */
const NOOP_TARGET_FIXED_REQUESTS = 10;
const RATIO_TARGET = 1.1;
/** Emulated task durations (ms): a download takes a while, VM tasks a second or so. */
const TASK_MS = { download: 3000, imgcopy: 60, qmcreate: 700, resize: 120, qmstart: 250, qmconfig: 100, imgdel: 50 };
const ALLOCATION_MS = 40;
const POLL_MS = 10;

interface Row {
  what: string;
  requests?: number;
  wallMs: number;
  peakMb?: number;
  note: string;
}

async function timedCli(lab: Lab, args: string[], expectedExit: number): Promise<{ ms: number; peakMb: number; stdout: string }> {
  const started = performance.now();
  const proc = Bun.spawn(["/usr/bin/time", "-f", "maxrss=%M", "--", process.execPath, `${import.meta.dir}/../src/main.ts`, ...args], {
    cwd: lab.dir,
    env: { ...process.env, ...lab.env, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  const ms = performance.now() - started;
  if (code !== expectedExit) throw new Error(`starbase ${args.join(" ")} exited ${code}, expected ${expectedExit}:\n${stderr.slice(-2000)}`);
  return { ms, peakMb: Number(/maxrss=(\d+)\s*$/.exec(stderr)?.[1]) / 1024, stdout };
}

// pvestatd samples when the bench says so (lab.emu.sample()).
const lab = await startLab({ emulator: { taskDurations: TASK_MS, allocationMs: ALLOCATION_MS, lockScale: 1, sampleMs: Number.POSITIVE_INFINITY } });
try {
  lab.editSpec((doc) => {
    doc.setIn(["nodes", "servers", "hosts"], doc.createNode([1, 2, 3].map((i) => ({ name: `server0${i}`, ip: `10.0.20.3${i}` }))));
    doc.setIn(["nodes", "agents", "count"], AGENTS);
    doc.setIn(["nodes", "agents", "vm", "vmidStart"], 300);
  });
  const { inventory, diagnostics } = await loadCluster(lab.specFile, process.env);
  if (inventory === undefined) throw new Error(diagnostics.map((d) => d.message).join("\n"));
  const perNode = ["node01", "node02", "node03"].map((n) => inventory.hosts.filter((h) => h.pveNode === n).length);

  // Fresh apply, in process, with a client polling tasks every POLL_MS.
  const { client, secrets } = await connectProxmox(inventory.spec, lab.dir, { env: lab.env, taskPollMs: POLL_MS });
  const run = createInfraRun({ inv: inventory, client, secrets });
  const steps = familyRunnables(infraPhase.steps(run), infraPhase.families, run, { mode: "apply", log: new Map() });
  const durations = new Map<string, number>();
  const requestsBefore = lab.emu.requestLog.length;
  const started = performance.now();
  const summary = await runSteps(steps, {
    limits: infraPhase.limits(run),
    retry: RETRY,
    onEvent: (e: EngineEvent) => {
      if (e.type === "step-end") durations.set(e.id, e.durationMs);
    },
  });
  const freshMs = performance.now() - started;
  const freshRequests = lab.emu.requestLog.length - requestsBefore;
  await client.close();
  if (!summary.ok) throw new Error(`fresh apply failed: ${summary.steps.filter((s) => s.outcome === "failed").map((s) => `${s.id}: ${s.reason}`).join("\n")}`);

  // The graph's needs, weighted by each step's measured duration, plus the chain the per-node
  // creation limit imposes: no schedule can end sooner, so wall/path is the scheduler's overhead.
  const chained = steps.map((s) => ({ id: s.id, needs: [...s.needs] }));
  for (const node of ["node01", "node02", "node03"]) {
    const vms = chained.filter((s) => s.id.startsWith("vm:") && steps.find((x) => x.id === s.id)?.pveNode === node);
    // One at a time: the chain's length is the sum of their durations, whatever their order.
    for (let i = 1; i < vms.length; i++) vms[i]!.needs.push(vms[i - 1]!.id);
  }
  const path = criticalPath(chained, (id) => durations.get(id) ?? 0);

  // No-op plan and apply through the CLI: first with no VM sampled yet, then in the steady state.
  const beforeUnsampled = lab.emu.requestLog.length;
  const unsampled = await timedCli(lab, ["plan", lab.specFile, "--phase", "infra"], 0);
  const unsampledRequests = lab.emu.requestLog.length - beforeUnsampled;
  lab.emu.sample();
  const before = lab.emu.requestLog.length;
  const plan = await timedCli(lab, ["plan", lab.specFile, "--phase", "infra"], 0);
  const planRequests = lab.emu.requestLog.length - before;
  const beforeApply = lab.emu.requestLog.length;
  const apply = await timedCli(lab, ["apply", lab.specFile, "--phase", "infra"], 0);
  const applyRequests = lab.emu.requestLog.length - beforeApply;
  const applyMutating = lab.emu.requestLog.slice(beforeApply).filter((e) => e.method !== "GET").length;
  if (!apply.stdout.includes("No changes")) throw new Error("the no-op apply changed something");

  const vms = inventory.hosts.length;
  const target = `target ≤ ${NOOP_TARGET_FIXED_REQUESTS} + ${vms} (one config read per VM)`;
  const rows: Row[] = [
    { what: "no-op plan (CLI), VMs unsampled", requests: unsampledRequests, wallMs: unsampled.ms, peakMb: unsampled.peakMb, note: `+ one status read per VM; target ≤ ${NOOP_TARGET_FIXED_REQUESTS} + 2 × ${vms}` },
    { what: "no-op plan (CLI)", requests: planRequests, wallMs: plan.ms, peakMb: plan.peakMb, note: target },
    { what: "no-op apply (CLI)", requests: applyRequests, wallMs: apply.ms, peakMb: apply.peakMb, note: `${applyMutating} mutating; ${target}` },
    { what: "fresh apply (steps, in process)", requests: freshRequests, wallMs: freshMs, note: `${summary.steps.length} steps, task poll ${POLL_MS} ms` },
    { what: "  critical path of the graph", wallMs: path.length, note: `ratio wall/path ${(freshMs / path.length).toFixed(3)} (target ≤ ${RATIO_TARGET}); ${path.path[0]} → ${path.path.at(-1)}, ${path.path.length} steps` },
  ];
  const cell = (n: number | undefined, digits = 0) => (n === undefined ? "" : n.toFixed(digits));
  const table = [
    ["", "requests", "wall ms", "peak MB", ""],
    ...rows.map((r) => [r.what, cell(r.requests), cell(r.wallMs), cell(r.peakMb, 1), r.note]),
  ];
  const widths = table[0]!.map((_, i) => Math.max(...table.map((row) => row[i]!.length)));
  console.log(`infra bench: ${inventory.hosts.length} VMs on 3 nodes (${perNode.join("/")}), tasks ${JSON.stringify(TASK_MS)}`);
  for (const row of table) console.log(row.map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
} finally {
  await lab.stop();
}
