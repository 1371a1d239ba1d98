// The client side of the load balancer lab test: runs inside the lab's control namespace (the
// only place that reaches the lab network), holds one SshPool for the whole test, and answers
// JSON-line requests on stdin:
//   converge {spec}   the LB steps of the spec's graph, observed and applied in graph order
//                     (lb-first, then every lb-rest) on a fresh ClusterRun over the same pool
//   probe {address, port, notVia?, timeoutMs}   connects every 50 ms until an answer comes
//                     (through a load balancer other than notVia); returns when and through whom
//   hold {address, port} / echo {id, text}      a long-lived connection through the VIP
//   connections       SSH connections opened per host
//   bun test/cluster/lb-driver.ts '{"privateKeyFile": …}'
import { connect, type Socket } from "node:net";
import { buildSteps } from "../../src/plan/graph.ts";
import { loadCluster } from "../../src/plan/load.ts";
import { readRenderSecrets } from "../../src/plan/secrets.ts";
import { microos } from "../../src/nodeos/microos.ts";
import { hostKey } from "../../src/render/hostkeys.ts";
import { Credentials } from "../../src/ssh/auth.ts";
import { SshPool } from "../../src/ssh/pool.ts";
import { createClusterRun } from "../../src/steps/cluster/context.ts";
import { loadBalancerFamily } from "../../src/steps/cluster/loadbalancer.ts";
import { formatChange } from "../../src/steps/observed.ts";

export type LbDriverRequest =
  | { id: number; op: "converge"; spec: string }
  | { id: number; op: "probe"; address: string; port: number; notVia?: string; timeoutMs: number }
  | { id: number; op: "hold"; address: string; port: number }
  | { id: number; op: "echo"; hold: number; text: string }
  | { id: number; op: "connections" };

export interface StepResult {
  id: string;
  changes: string[];
  acted: boolean;
  reports: string[];
  error?: string;
}

export interface ProbeResult {
  /** Epoch ms of the first answer (through a load balancer other than notVia). */
  at: number;
  answer: string;
  attempts: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as { privateKeyFile: string; user: string };
const pool = new SshPool({
  user: config.user,
  credentials: new Credentials({ privateKeyFile: config.privateKeyFile }),
  connectTimeoutMs: 10_000,
  commandTimeoutMs: 60_000,
  connectRetry: { deadlineMs: 20_000, initialDelayMs: 200, maxDelayMs: 2_000 },
});

async function converge(specFile: string): Promise<StepResult[]> {
  const loaded = await loadCluster(specFile, process.env);
  const inv = loaded.inventory;
  if (inv === undefined) throw new Error(`spec: ${loaded.diagnostics.map((d) => d.message).join("; ")}`);
  const secrets = readRenderSecrets(inv.spec, loaded.loaded.dir, process.env);
  const run = createClusterRun({
    inv,
    os: microos,
    secrets,
    ssh: (host) => pool.host({
      name: host.name,
      address: host.ip,
      hostKey: { kind: "pinned", publicKeys: [hostKey(secrets.hostKeySecret, inv.spec.name, host.name).publicKey], source: "the key starbase derives" },
    }),
    connectTcp: (address, port, timeoutMs) => pool.connectTcp(address, port, timeoutMs),
  });
  const steps = buildSteps(inv, { phase: "cluster" }).filter((step) => loadBalancerFamily.kinds.includes(step.kind));
  const results: StepResult[] = [];
  const one = async (step: (typeof steps)[number]): Promise<StepResult> => {
    const result: StepResult = { id: step.id, changes: [], acted: false, reports: [] };
    try {
      const observed = await loadBalancerFamily.observe(run, step, { fresh: false });
      result.changes = observed.changes.map(formatChange);
      if (observed.apply !== undefined) {
        result.acted = true;
        await observed.apply({ signal: new AbortController().signal, report: (message) => result.reports.push(message) });
      }
    } catch (err) {
      result.error = (err as Error).message;
    }
    return result;
  };
  // lb-first, then the others in parallel, as the graph orders them.
  const first = steps.filter((step) => step.kind === "lb-first");
  for (const step of first) results.push(await one(step));
  if (results.every((r) => r.error === undefined)) results.push(...(await Promise.all(steps.filter((step) => step.kind === "lb-rest").map(one))));
  return results;
}

/** Connects once and reads the responder's first line (it names the server and the LB it came through). */
function ask(address: string, port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: address, port });
    let text = "";
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("timeout"));
    }, timeoutMs);
    socket.on("data", (chunk) => {
      text += chunk.toString();
      if (text.includes("\n")) {
        clearTimeout(timer);
        socket.destroy();
        resolve(text.split("\n")[0]!);
      }
    });
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("close", () => {
      clearTimeout(timer);
      reject(new Error(`closed after ${JSON.stringify(text)}`));
    });
  });
}

async function probe(address: string, port: number, notVia: string | undefined, timeoutMs: number): Promise<ProbeResult> {
  const deadline = Date.now() + timeoutMs;
  let attempts = 0;
  let last = "";
  while (Date.now() < deadline) {
    attempts++;
    const started = Date.now();
    try {
      const answer = await ask(address, port, 250);
      if (notVia === undefined || !answer.endsWith(` via ${notVia}`)) return { at: Date.now(), answer, attempts };
      last = answer;
    } catch (err) {
      last = (err as Error).message;
    }
    await Bun.sleep(Math.max(0, 50 - (Date.now() - started)));
  }
  throw new Error(`no answer on ${address}:${port}${notVia === undefined ? "" : ` other than via ${notVia}`} within ${timeoutMs} ms (last: ${last})`);
}

const held = new Map<number, { socket: Socket; text: string }>();

async function hold(address: string, port: number): Promise<{ hold: number; first: string }> {
  const socket = connect({ host: address, port });
  const entry = { socket, text: "" };
  const id = held.size + 1;
  held.set(id, entry);
  socket.on("data", (chunk) => (entry.text += chunk.toString()));
  socket.on("error", () => undefined);
  const deadline = Date.now() + 5000;
  while (!entry.text.includes("\n")) {
    if (Date.now() > deadline || socket.destroyed) throw new Error(`no first line on the held connection (${JSON.stringify(entry.text)})`);
    await Bun.sleep(20);
  }
  return { hold: id, first: entry.text.split("\n")[0]! };
}

async function echo(id: number, text: string): Promise<string> {
  const entry = held.get(id);
  if (entry === undefined) throw new Error(`no held connection ${id}`);
  const before = entry.text.length;
  entry.socket.write(`${text}\n`);
  const deadline = Date.now() + 5000;
  while (!entry.text.slice(before).includes("\n")) {
    if (Date.now() > deadline || entry.socket.destroyed) throw new Error(`the held connection gave no echo (${entry.socket.destroyed ? "closed" : "silent"})`);
    await Bun.sleep(20);
  }
  return entry.text.slice(before).split("\n")[0]!;
}

async function handle(request: LbDriverRequest): Promise<unknown> {
  switch (request.op) {
    case "converge":
      return converge(request.spec);
    case "probe":
      return probe(request.address, request.port, request.notVia, request.timeoutMs);
    case "hold":
      return hold(request.address, request.port);
    case "echo":
      return echo(request.hold, request.text);
    case "connections":
      return pool.connectionsOpened();
  }
}

let buffered = "";
const decoder = new TextDecoder();
for await (const chunk of Bun.stdin.stream()) {
  buffered += decoder.decode(chunk, { stream: true });
  for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
    const request = JSON.parse(buffered.slice(0, newline)) as LbDriverRequest;
    buffered = buffered.slice(newline + 1);
    handle(request).then(
      (value) => process.stdout.write(`${JSON.stringify({ id: request.id, ok: true, value, ms: 0 })}\n`),
      (err: Error) => process.stdout.write(`${JSON.stringify({ id: request.id, ok: false, error: { name: err.name, message: err.message } })}\n`),
    );
  }
}
for (const { socket } of held.values()) socket.destroy();
pool.close();
