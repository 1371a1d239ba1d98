// End-to-end harness of the cluster phase: a lab from a spec (every address in 198.18.0.0/15),
// the spec's secrets set in a scratch directory (ssh.hostKeySecret in a 0600 file, a client
// key in a real ssh-agent this harness starts and kills by PID), and starbase run from source
// in the lab's control namespace, exactly as the entry point says:
//
//   const cluster = useClusterLab("boot", "test/cluster/topology.yaml", { readyAfterMs: 300 });
//   const result = await cluster().starbase(["apply", cluster().file, "--phase", "cluster", "--yes"]);
//   expect(result.code).toBe(0);
//
// `moveIntoLabRange` rewrites a spec written for another network (examples/minimal.yaml) into a
// lab /24, so the examples themselves are what the tests apply.
import { afterAll, beforeAll } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { type Document, parseDocument } from "yaml";
import { specTopology } from "../../scripts/lab.ts";
import { labUp, type Lab, type LabTopology } from "../lab/lab.ts";

const ROOT = resolve(import.meta.dir, "..", "..");
const MAIN = join(ROOT, "src", "main.ts");
const GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ClusterLabOptions {
  /** Stand-in readiness delay of RKE2 (ms); small keeps the tests short. */
  readyAfterMs?: number;
  /** Moves the spec's addresses into this lab /24 first (e.g. "198.18.60"). */
  labNetwork?: string;
  /** Last edits of the spec document before it is written (jumpHost, privateKey …). */
  edit?: (doc: Document) => void;
  /** Changes the lab topology the spec gives (e.g. a host that is never started). */
  topology?: (topology: LabTopology) => LabTopology;
}

export interface ClusterLab {
  lab: Lab;
  /** The spec the tests apply (in the scratch directory, secrets beside it). */
  file: string;
  scratch: string;
  /** The client key in the agent, and its public half (in the spec's authorizedKeys). */
  clientKey: string;
  agentSocket: string;
  /** Runs `bun src/main.ts ARGS` in the control namespace, with a clean environment (HOME = scratch, SSH_AUTH_SOCK = the agent). */
  starbase(args: string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<RunResult>;
  /** Runs argv in the control namespace (kubectl, curl …). */
  control(argv: string[]): Promise<RunResult>;
  down(): Promise<void>;
}

/** Replaces the first three octets of every address in the spec's network, hosts and VIP with `prefix`. */
export function moveIntoLabRange(doc: Document, prefix: string): void {
  const cidr = String(doc.getIn(["network", "cidr"]));
  const match = /^(\d+\.\d+\.\d+)\.0\/24$/.exec(cidr);
  if (match === null) throw new Error(`harness: network.cidr ${cidr} is not a /24; give the spec in the lab range instead`);
  const from = `${match[1]}.`;
  const move = (value: unknown) => (typeof value === "string" && value.startsWith(from) ? `${prefix}.${value.slice(from.length)}` : value);
  const network = (doc.toJS() as { network: { gateway?: string; dns?: string[] } }).network;
  doc.setIn(["network", "cidr"], `${prefix}.0/24`);
  if (network.gateway !== undefined) doc.setIn(["network", "gateway"], move(network.gateway));
  if (network.dns !== undefined) doc.setIn(["network", "dns"], network.dns.map(move));
  doc.setIn(["loadBalancer", "vip"], move(doc.getIn(["loadBalancer", "vip"])));
  for (const role of ["loadBalancers", "servers", "agents"]) {
    const hosts = doc.getIn(["nodes", role, "hosts"]) as { items?: unknown[] } | undefined;
    for (const [i] of (hosts?.items ?? []).entries()) {
      const ip = doc.getIn(["nodes", role, "hosts", i, "ip"]);
      if (ip !== undefined) doc.setIn(["nodes", role, "hosts", i, "ip"], move(ip));
    }
  }
}

function spawnText(argv: string[], opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const child = Bun.spawn(argv, { stdin: "ignore", stdout: "pipe", stderr: "pipe", ...(opts.env && { env: opts.env }), ...(opts.cwd && { cwd: opts.cwd }) });
  const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGTERM"), opts.timeoutMs);
  return Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]).then(([stdout, stderr, code]) => {
    clearTimeout(timer);
    return { code, stdout, stderr };
  });
}

/** A fresh ssh-agent on `socket` holding `key`; returns its PID (kill it by that PID). */
export function startAgent(socket: string, key: string): number {
  const agent = Bun.spawn(["ssh-agent", "-D", "-a", socket], { stdin: "ignore", stdout: "ignore", stderr: "ignore" });
  const deadline = Date.now() + 5000;
  for (;;) {
    const added = Bun.spawnSync(["ssh-add", "-q", key], { env: { SSH_AUTH_SOCK: socket, PATH: GUEST_PATH }, stdout: "pipe", stderr: "pipe" });
    if (added.exitCode === 0) return agent.pid;
    if (Date.now() > deadline) {
      agent.kill("SIGTERM");
      throw new Error(`harness: ssh-add failed: ${added.stderr.toString().trim()}`);
    }
    Bun.sleepSync(20);
  }
}

export function keygen(path: string, passphrase = ""): string {
  const made = Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", "starbase-test", "-f", path], { stdout: "pipe", stderr: "pipe" });
  if (made.exitCode !== 0) throw new Error(`harness: ssh-keygen: ${made.stderr.toString().trim()}`);
  return readFileSync(`${path}.pub`, "utf8").trim();
}

/** Brings up the lab of `specFile` with its secrets set; the caller calls down(). */
export async function clusterLabUp(name: string, specFile: string, opts: ClusterLabOptions = {}): Promise<ClusterLab> {
  const scratch = mkdtempSync(join(tmpdir(), `${name}-`));
  let agentPid: number | undefined;
  let lab: Lab | undefined;
  const cleanup = async () => {
    if (agentPid !== undefined) {
      try {
        process.kill(agentPid, "SIGTERM");
      } catch {
        // already gone
      }
      agentPid = undefined;
    }
    await lab?.down();
    rmSync(scratch, { recursive: true, force: true });
  };
  try {
    const clientKey = join(scratch, "id_ed25519");
    const publicKey = keygen(clientKey);
    const secretFile = join(scratch, "hostkey.secret");
    writeFileSync(secretFile, `${randomBytes(32).toString("base64")}\n`, { mode: 0o600 });
    const doc = parseDocument(readFileSync(resolve(ROOT, specFile), "utf8"));
    if (opts.labNetwork !== undefined) moveIntoLabRange(doc, opts.labNetwork);
    doc.setIn(["ssh", "authorizedKeys"], [publicKey]);
    doc.setIn(["ssh", "hostKeySecret"], doc.createNode({ file: secretFile }));
    opts.edit?.(doc);
    const file = join(scratch, "cluster.yaml");
    writeFileSync(file, doc.toString());
    const agentSocket = join(scratch, "agent.sock");
    agentPid = startAgent(agentSocket, clientKey);
    const labDir = join(scratch, "lab");
    const topology = specTopology(file, labDir, opts.readyAfterMs ?? 300);
    lab = await labUp(labDir, opts.topology?.(topology) ?? topology);
    const up = lab;
    return {
      lab: up,
      file,
      scratch,
      clientKey,
      agentSocket,
      starbase: (args, runOpts = {}) =>
        spawnText([...up.controlExec, process.execPath, MAIN, ...args], {
          cwd: scratch,
          env: { PATH: GUEST_PATH, HOME: scratch, USER: "tester", SSH_AUTH_SOCK: agentSocket, NO_COLOR: "1", ...runOpts.env },
          ...(runOpts.timeoutMs !== undefined && { timeoutMs: runOpts.timeoutMs }),
        }),
      control: (argv) => spawnText([...up.controlExec, ...argv], { cwd: scratch, env: { PATH: GUEST_PATH, HOME: scratch } }),
      down: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}

/** One cluster lab per test file or describe block: up in beforeAll, down in afterAll. */
export function useClusterLab(name: string, specFile: string, opts: ClusterLabOptions = {}): () => ClusterLab {
  let cluster: ClusterLab | undefined;
  beforeAll(async () => {
    cluster = await clusterLabUp(name, specFile, opts);
  }, 300_000);
  afterAll(async () => {
    await cluster?.down();
  }, 60_000);
  return () => {
    if (cluster === undefined) throw new Error(`the cluster lab of ${name} is not up`);
    return cluster;
  };
}

export type CloudInitState = "done" | "running" | "error";

/**
 * Steers what the host's real cloud-init reports (`cloud-init status`), through the files its
 * status command reads (cloudinit/cmd/status.py: /run/cloud-init/status.json, result.json):
 * "running" sets a stage and hides result.json (`--wait` then blocks), "error" adds `message`
 * to the final stage's errors and to /var/log/cloud-init-output.log, "done" restores what the
 * first boot wrote. The first call keeps the originals beside them.
 */
export async function setCloudInit(lab: Lab, host: string, state: CloudInitState, message = "starbase lab: a module failed"): Promise<void> {
  const script = `
import json, os, sys
state, message = sys.argv[1], sys.argv[2]
run = "/run/cloud-init"
status, result = run + "/status.json", run + "/result.json"
for path in (status, result):
    keep = path + ".lab"
    if not os.path.exists(keep) and os.path.exists(path):
        os.link(path, keep)
original = json.load(open(status + ".lab"))
now = dict(original["v1"])
if state == "running":
    now["stage"] = "modules-final"
    now["modules-final"] = dict(now["modules-final"], finished=None)
elif state == "error":
    now["modules-final"] = dict(now["modules-final"], errors=[message])
    with open("/var/log/cloud-init-output.log", "a") as log:
        log.write(message + "\\n")
with open(status + ".tmp", "w") as out:
    json.dump({"v1": now}, out)
os.replace(status + ".tmp", status)
if state == "running":
    if os.path.exists(result):
        os.remove(result)
else:
    with open(result + ".tmp", "w") as out:
        errors = now["modules-final"]["errors"]
        json.dump({"v1": {"datasource": original["v1"].get("datasource"), "errors": errors}}, out)
    os.replace(result + ".tmp", result)
`;
  const done = await lab.exec(host, ["python3", "-c", script, state, message]);
  if (done.code !== 0) throw new Error(`harness: cloud-init ${state} on ${host}: ${done.stderr.trim()}`);
}
