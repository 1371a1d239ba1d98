// A client process for the RKE2 families' lab tests. It runs in the lab's control namespace (the
// only place that reaches the lab network), builds a ClusterRun over an SshPool, serves the
// channel server the spec's rke2.channelUrl points at, and walks the RKE2 steps in the graph's
// order: server-first, then each server-rest after the one before, agents in parallel once the
// first server is done; a failed step stops only the steps after it. Prints one JSON line per
// event on stdout: observed changes, progress reports, failures, then the summary.
//   bun test/cluster/rke2-driver.ts '<DriverConfig JSON>'
import { buildInventory } from "../../src/inventory/build.ts";
import { microos } from "../../src/nodeos/microos.ts";
import type { Spec } from "../../src/spec/types.ts";
import { Credentials } from "../../src/ssh/auth.ts";
import { SshPool } from "../../src/ssh/pool.ts";
import { createClusterRun } from "../../src/steps/cluster/context.ts";
import { agentsFamily } from "../../src/steps/cluster/rke2-agents.ts";
import type { Rke2Waits } from "../../src/steps/cluster/rke2-node.ts";
import { serverFirstFamily } from "../../src/steps/cluster/rke2-server-first.ts";
import { serverRestFamily } from "../../src/steps/cluster/rke2-server-rest.ts";
import type { StepFamily } from "../../src/steps/family.ts";
import { formatChange } from "../../src/steps/observed.ts";
import type { ClusterRun } from "../../src/steps/cluster/context.ts";
import type { StepNode } from "../../src/graph/types.ts";

export interface DriverConfig {
  spec: Spec;
  hostKeySecret: string;
  clientKey: string;
  knownHosts: string;
  mode: "plan" | "apply";
  waits: Rke2Waits;
  /** The channel server: listens on port in the control namespace; channel → release it redirects to. */
  channels: { port: number; releases: Record<string, string> };
}

export type DriverEvent =
  | { type: "observed"; step: string; changes: string[]; acts: boolean }
  | { type: "progress"; step: string; message: string }
  | { type: "applied"; step: string; ms: number }
  | { type: "failed"; step: string; message: string }
  | { type: "skipped"; step: string; because: string }
  | { type: "done"; connections: Record<string, number>; channelRequests: number };

const config = JSON.parse(process.argv[2] ?? "{}") as DriverConfig;
const emit = (event: DriverEvent) => process.stdout.write(`${JSON.stringify(event)}\n`);

let channelRequests = 0;
const channelServer = Bun.serve({
  hostname: "0.0.0.0",
  port: config.channels.port,
  fetch(request) {
    channelRequests++;
    const channel = new URL(request.url).pathname.split("/").at(-1) ?? "";
    const release = config.channels.releases[channel];
    if (release === undefined) return new Response("no such channel\n", { status: 404 });
    // As update.rke2.io: a redirect to the release's page, whose last segment is the release.
    return new Response(null, { status: 302, headers: { Location: `https://github.com/rancher/rke2/releases/tag/${encodeURIComponent(release)}` } });
  },
});

const inv = buildInventory(config.spec);
const pool = new SshPool({
  user: "root",
  credentials: new Credentials({ privateKeyFile: config.clientKey }),
  connectRetry: { deadlineMs: 60_000, initialDelayMs: 300, maxDelayMs: 2_000 },
  commandTimeoutMs: 120_000,
});
const hosts = new Map(inv.hosts.map((host) => [host.name, pool.host({ name: host.name, address: host.ip, hostKey: { kind: "known-hosts", file: config.knownHosts, acceptNew: false } })]));
const run: ClusterRun = createClusterRun({
  inv,
  os: microos,
  secrets: { hostKeySecret: config.hostKeySecret },
  connectTcp: (address, port, timeoutMs) => pool.connectTcp(address, port, timeoutMs),
  ssh: (host) => hosts.get(host.name) ?? (() => { throw new Error(`no host ${host.name}`); })(),
});

async function step(family: StepFamily<ClusterRun>, kind: string, host: string): Promise<boolean> {
  const id = `${kind}:${host}`;
  const node: StepNode = { id, kind, host, needs: [] } as StepNode;
  try {
    const observed = await family.observe(run, node, { fresh: false });
    emit({ type: "observed", step: id, changes: observed.changes.map(formatChange), acts: observed.apply !== undefined });
    if (config.mode === "apply" && observed.apply !== undefined) {
      const started = Date.now();
      await observed.apply({ signal: new AbortController().signal, report: (message) => emit({ type: "progress", step: id, message }) });
      emit({ type: "applied", step: id, ms: Date.now() - started });
    }
    return true;
  } catch (error) {
    emit({ type: "failed", step: id, message: (error as Error).message });
    return false;
  }
}

const waits = config.waits;
const first = await step(serverFirstFamily(waits), "server-first", inv.firstServer.name);
const rest = inv.servers.filter((server) => server.name !== inv.firstServer.name);
const agents = inv.agents;
if (!first) {
  for (const host of [...rest, ...agents]) emit({ type: "skipped", step: `${host.role === "agent" ? "agents" : "server-rest"}:${host.name}`, because: `server-first:${inv.firstServer.name}` });
} else {
  const chain = (async () => {
    for (const [index, server] of rest.entries()) {
      if (await step(serverRestFamily(waits), "server-rest", server.name)) continue;
      for (const later of rest.slice(index + 1)) emit({ type: "skipped", step: `server-rest:${later.name}`, because: `server-rest:${server.name}` });
      return;
    }
  })();
  await Promise.all([chain, ...agents.map((agent) => step(agentsFamily(waits), "agents", agent.name))]);
}
emit({ type: "done", connections: pool.connectionsOpened(), channelRequests });
pool.close();
channelServer.stop(true);
process.exit(0);
