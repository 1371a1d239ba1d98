// The no-op convergence check of bench/ssh.ts, run in the lab's control namespace:
//   starbase: starbase's own observe path: one SshPool, one batched facts read per host (the
//             MicroOS facts script: file hash, mode, owner; unit state), compared with the files.
//   bare:     the floor: plain ssh2, one connection and one session per host running
//             sha256sum + stat + systemctl, compared the same way.
// Input: a JSON job file (hosts, key, known_hosts, files, unit). Output: one JSON line with the
// check's own time (ms), hosts converged, and (starbase) connections the pool opened per host.
import { readFileSync } from "node:fs";
import { Client } from "ssh2";
import { microos } from "../src/nodeos/microos.ts";
import { Credentials } from "../src/ssh/auth.ts";
import { sha256Hex } from "../src/ssh/put.ts";
import { SshPool } from "../src/ssh/pool.ts";
import { readFacts } from "../src/steps/cluster/context.ts";

export interface CheckJob {
  hosts: Array<{ name: string; ip: string }>;
  keyFile: string;
  knownHosts: string;
  files: Array<{ path: string; content: string; mode: number }>;
  unit: string;
}

export interface CheckResult {
  ms: number;
  converged: number;
  drift: string[];
  connections?: Record<string, number>;
}

async function viaStarbase(job: CheckJob): Promise<CheckResult> {
  const pool = new SshPool({ user: "root", credentials: new Credentials({ privateKeyFile: job.keyFile }) });
  const query = { files: job.files.map((f) => f.path), exists: [], units: [job.unit], packages: [], selinuxPorts: [] };
  const started = performance.now();
  const drift: string[] = [];
  await Promise.all(job.hosts.map(async ({ name, ip }) => {
    const ssh = pool.host({ name, address: ip, hostKey: { kind: "known-hosts", file: job.knownHosts, acceptNew: false } });
    const facts = await readFacts(microos, ssh, query);
    for (const file of job.files) {
      const have = facts.files.get(file.path) ?? null;
      if (have === null || have.sha256 !== sha256Hex(file.content) || have.mode !== file.mode || have.owner !== "root:root") drift.push(`${name} ${file.path}`);
    }
    const unit = facts.units.get(job.unit);
    if (unit?.active !== "active" || unit.enabled !== "enabled") drift.push(`${name} ${job.unit}`);
  }));
  const ms = performance.now() - started;
  const connections = pool.connectionsOpened();
  pool.close();
  return { ms, converged: job.hosts.length - new Set(drift.map((d) => d.split(" ")[0])).size, drift, connections };
}

function knownKey(knownHosts: string, ip: string): Buffer {
  for (const line of readFileSync(knownHosts, "utf8").split("\n")) {
    const [names, , key] = line.split(" ");
    if (names?.split(",").includes(ip) && key !== undefined) return Buffer.from(key, "base64");
  }
  throw new Error(`${ip} is not in ${knownHosts}`);
}

function bareHost(job: CheckJob, ip: string, privateKey: Buffer): Promise<string> {
  const paths = job.files.map((f) => f.path).join(" ");
  const command = `sha256sum ${paths}; stat -c '%a %U:%G %n' ${paths}; systemctl is-active ${job.unit}; systemctl is-enabled ${job.unit}`;
  const expectedKey = knownKey(job.knownHosts, ip);
  return new Promise((resolve, reject) => {
    const client = new Client();
    client.on("error", reject);
    client.on("ready", () => {
      client.exec(command, (err, channel) => {
        if (err) return reject(err);
        let out = "";
        channel.on("data", (d: Buffer) => (out += d.toString()));
        channel.stderr.on("data", () => undefined);
        channel.on("close", () => {
          client.end();
          resolve(out);
        });
      });
    });
    client.connect({ host: ip, port: 22, username: "root", privateKey, hostVerifier: (key: Buffer) => key.equals(expectedKey) });
  });
}

async function viaBare(job: CheckJob): Promise<CheckResult> {
  const privateKey = readFileSync(job.keyFile);
  const started = performance.now();
  const drift: string[] = [];
  await Promise.all(job.hosts.map(async ({ name, ip }) => {
    const lines = (await bareHost(job, ip, privateKey)).split("\n");
    job.files.forEach((file, i) => {
      const hash = lines[i]?.split(" ")[0];
      const stat = lines[job.files.length + i]?.split(" ");
      if (hash !== sha256Hex(file.content) || stat?.[0] !== file.mode.toString(8) || stat[1] !== "root:root") drift.push(`${name} ${file.path}`);
    });
    if (lines[2 * job.files.length] !== "active" || lines[2 * job.files.length + 1] !== "enabled") drift.push(`${name} ${job.unit}`);
  }));
  const ms = performance.now() - started;
  return { ms, converged: job.hosts.length - new Set(drift.map((d) => d.split(" ")[0])).size, drift };
}

if (import.meta.main) {
  const [mode, jobFile] = process.argv.slice(2);
  const job = JSON.parse(readFileSync(jobFile!, "utf8")) as CheckJob;
  const result = mode === "starbase" ? await viaStarbase(job) : mode === "bare" ? await viaBare(job) : undefined;
  if (result === undefined) throw new Error("usage: bun bench/ssh-check.ts starbase|bare JOB.json");
  console.log(JSON.stringify(result));
  process.exit(0);
}
