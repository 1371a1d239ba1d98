// server-first, server-rest and agents on the lab: 2 load balancers (real keepalived + haproxy
// with the rendered configs), 3 servers and 3 agents with the RKE2 stand-in (real etcd), nothing
// of RKE2 installed at the start. starbase runs in the control namespace (rke2-driver.ts), which
// also serves the channel server. One lab for the file; the tests build on each other:
//   1. first apply: server03 has a broken config drop-in (not starbase's) and never gets Ready:
//      only its branch stops; the channel resolved once; the release installed, locked, Ready;
//      the joins one at a time through haproxy; the token in no output
//   2. the drop-in removed: the next apply joins server03 and touches nothing else
//   3. the lock: transactional-update dup leaves a locked node on its release; without the lock
//      it would move (the control); the next apply puts the lock back
//   4. a no-op apply: no writes, no restarts (mtimes, hashes, ActiveEnterTimestampMonotonic)
//   5. plan with another pinned release: every node reported on its release, nothing acts
//   6. adding agent03 to the spec joins just it
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildInventory } from "../../src/inventory/build.ts";
import type { Inventory } from "../../src/inventory/types.ts";
import { renderHost } from "../../src/render/index.ts";
import type { Spec } from "../../src/spec/types.ts";
import { countGroup, listedGroup } from "../inventory/fixture.ts";
import { type Lab, labUp } from "../lab/lab.ts";
import { RECORDS, type RecordLine } from "../lab/rke2/cluster.ts";
import { realisticSpec, SECRETS } from "../render/fixtures.ts";
import type { DriverConfig, DriverEvent } from "./rke2-driver.ts";

const NET = "198.18.93";
const CONTROL_IP = `${NET}.250`;
const CHANNEL_PORT = 8089;
const STABLE = "v1.33.5+rke2r1";
const WAITS = { readyTimeoutMs: 60_000, reboot: { timeoutMs: 90_000, pollMs: 500 }, pollMs: 500 };
const STEP_MS = 300_000;

function spec(agents: number, rke2: Partial<Spec["rke2"]> = {}): Spec {
  const s = realisticSpec();
  s.network = { ...s.network, cidr: `${NET}.0/24`, gateway: `${NET}.1`, dns: [`${NET}.1`] };
  s.nodes = {
    loadBalancers: listedGroup(200, [{ name: "lb01", ip: `${NET}.11` }, { name: "lb02", ip: `${NET}.12` }]),
    servers: countGroup(210, 3, `${NET}.21`),
    agents: countGroup(220, agents, `${NET}.31`),
  };
  s.loadBalancer = { vip: `${NET}.10`, vrrp: { mode: "unicast", routerId: 52 } };
  const { version: _v, channel: _c, ...rest } = s.rke2;
  s.rke2 = { ...rest, channel: "stable", channelUrl: `http://${CONTROL_IP}:${CHANNEL_PORT}/v1-release/channels`, ...rke2 };
  return s;
}

let lab: Lab;
let scratch: string;
const full = buildInventory(spec(3));
const outputs: string[] = [];

interface RunResult {
  events: DriverEvent[];
  observed: Map<string, { changes: string[]; acts: boolean }>;
  failed: Map<string, string>;
  done: Extract<DriverEvent, { type: "done" }>;
}

async function drive(mode: "plan" | "apply", s: Spec): Promise<RunResult> {
  const config: DriverConfig = {
    spec: s,
    hostKeySecret: SECRETS.hostKeySecret,
    clientKey: lab.clientKey,
    knownHosts: lab.knownHosts,
    mode,
    waits: WAITS,
    channels: { port: CHANNEL_PORT, releases: { stable: STABLE, latest: "v1.34.1+rke2r1" } },
  };
  const child = Bun.spawn([...lab.controlExec, process.execPath, join(import.meta.dir, "rke2-driver.ts"), JSON.stringify(config)], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
  await child.exited;
  outputs.push(stdout, stderr);
  const events = stdout.split("\n").filter((line) => line.startsWith("{")).map((line) => JSON.parse(line) as DriverEvent);
  const done = events.find((e) => e.type === "done");
  if (done === undefined || done.type !== "done") throw new Error(`the driver did not finish:\n${stdout}\n${stderr}`);
  const observed = new Map<string, { changes: string[]; acts: boolean }>();
  const failed = new Map<string, string>();
  for (const e of events) {
    if (e.type === "observed") observed.set(e.step, { changes: e.changes, acts: e.acts });
    if (e.type === "failed") failed.set(e.step, e.message);
  }
  return { events, observed, failed, done };
}

async function sh(host: string, script: string): Promise<string> {
  const result = await lab.exec(host, ["sh", "-c", script]);
  if (result.code !== 0) throw new Error(`${host}: ${script}: ${result.stderr}`);
  return result.stdout;
}

async function records(host: string): Promise<RecordLine[]> {
  return (await sh(host, `cat ${RECORDS} 2>/dev/null || true`)).split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as RecordLine);
}

/** What a host's own state says about starbase's files and the RKE2 unit: changes if anything was written or restarted. */
async function hostState(host: string): Promise<string> {
  const unit = host.startsWith("agent") ? "rke2-agent" : "rke2-server";
  return sh(
    host,
    [
      "for f in /etc/rancher/rke2/config.yaml /etc/rancher/rke2/join-token /etc/zypp/locks /etc/zypp/repos.d/rancher-rke2.repo /var/lib/starbase-lab/packages.json; do",
      '  [ -e "$f" ] && echo "$f $(stat -c "%Y.%y %a" "$f") $(sha256sum < "$f" | cut -c1-16)"',
      "done",
      `systemctl show -p ActiveEnterTimestampMonotonic -p NRestarts ${unit}`,
    ].join("\n"),
  );
}

const rke2Hosts = (inv: Inventory) => [...inv.servers, ...inv.agents].map((h) => h.name);

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "cluster-rke2-"));
  lab = await labUp(join(scratch, "lab"), {
    networks: [{ name: "cluster", cidr: `${NET}.0/24`, gateway: `${NET}.1` }],
    hosts: full.hosts.map((h) => ({
      name: h.name,
      nics: [{ network: "cluster", ip: h.ip, interface: full.spec.network.interface }],
      info: {
        role: h.role,
        ip: h.ip,
        vip: full.spec.loadBalancer.vip,
        loadBalancers: full.loadBalancers.map((lb) => lb.ip),
        servers: full.servers.map((s) => s.ip),
        firstServer: full.firstServer.ip,
        readyAfterMs: 1000,
      },
    })),
    control: [{ network: "cluster", ip: CONTROL_IP }],
  });
  // Until the load-balancer steps land here: the rendered keepalived/haproxy configs, started by hand.
  for (const lb of full.loadBalancers) {
    for (const file of renderHost(full, lb, SECRETS).filter((f) => f.path === "/etc/haproxy/haproxy.cfg" || f.path === "/etc/keepalived/keepalived.conf")) {
      const put = await lab.exec(lb.name, ["sh", "-c", `cat > '${file.path}' && chmod 0600 '${file.path}'`], { stdin: file.content });
      expect(put.code).toBe(0);
    }
    expect((await lab.exec(lb.name, ["systemctl", "enable", "--now", "keepalived.service", "haproxy.service"])).code).toBe(0);
  }
  // server03 gets a config drop-in starbase does not own and RKE2 refuses: it will never be Ready.
  await sh("server03", "mkdir -p /etc/rancher/rke2/config.yaml.d && echo 'server: http://broken.invalid:9345' > /etc/rancher/rke2/config.yaml.d/99-broken.yaml");
}, 240_000);

afterAll(async () => {
  await lab?.down();
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
}, 60_000);

describe("RKE2 nodes on the lab", () => {
  let token = "";

  test("first apply: the channel's release installed and locked on every node, joins one at a time through haproxy, agents in parallel; a server that never gets Ready stops only its branch", async () => {
    const started = Date.now();
    const result = await drive("apply", spec(2));
    console.log(`first apply: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // The channel was asked once for the whole run.
    expect(result.done.channelRequests).toBe(1);
    // The plan said what each node runs and would run.
    expect(result.observed.get("agents:agent01")?.changes).toContain(`+ RKE2 on agent01 version: (unset) → ${STABLE} (install rke2-agent from Rancher's repository, locked, then reboot)`);
    // server03: named, with its step and where to look; nothing after it in its branch; the rest finished.
    expect([...result.failed.keys()]).toEqual(["server-rest:server03"]);
    expect(result.failed.get("server-rest:server03")).toMatch(/^server03: server-rest: gave up waiting for node Ready after \d+ s; look at the journal of rke2-server.service on server03 \(journalctl -u rke2-server.service\)$/);
    for (const step of ["server-first:server01", "server-rest:server02", "agents:agent01", "agents:agent02"]) {
      expect(result.events).toContainEqual(expect.objectContaining({ type: "applied", step }));
    }
    // The agents ran at the same time (their applies overlap), the servers one after the other.
    const span = (step: string) => {
      const i = result.events.findIndex((e) => e.type === "progress" && e.step === step);
      const j = result.events.findIndex((e) => e.type === "applied" && e.step === step);
      return [i, j] as const;
    };
    const [a1, a1end] = span("agents:agent01");
    const [a2, a2end] = span("agents:agent02");
    expect(a1 < a2end && a2 < a1end).toBe(true);
    expect(span("server-rest:server02")[0]).toBeGreaterThan(span("server-first:server01")[1]);
    // The units stay up once Ready.
    for (const host of ["server01", "server02", "agent01", "agent02"]) {
      expect(await sh(host, `systemctl is-active ${host.startsWith("agent") ? "rke2-agent" : "rke2-server"}`)).toBe("active\n");
    }
    // Progress lines name what is waited for.
    expect(result.events).toContainEqual(expect.objectContaining({ type: "progress", step: "server-rest:server02", message: expect.stringMatching(/^waiting for node Ready \(\d+ s\)$/) }));
    // The pinned release is what rpm says, on every node, and locked.
    for (const host of ["server01", "server02", "server03", "agent01", "agent02"]) {
      const pkg = host.startsWith("agent") ? "rke2-agent" : "rke2-server";
      expect(await sh(host, `rpm -q --qf '%{VERSION}\\n' ${pkg} rke2-common`)).toBe("1.33.5~rke2r1\n1.33.5~rke2r1\n");
      expect(await sh(host, "zypper locks")).toBe(`1 | ${pkg} | package | (any)\n2 | rke2-common | package | (any)\n`);
      expect(await sh(host, "grep ^baseurl /etc/zypp/repos.d/rancher-rke2.repo")).toBe(
        "baseurl=https://rpm.rancher.io/rke2/stable/common/microos/noarch\nbaseurl=https://rpm.rancher.io/rke2/stable/1.33/microos/x86_64\n",
      );
    }
    // Every join came through haproxy (the supervisor's peers are the load balancers, the host asked for the VIP), one at a time.
    const first = await records("server01");
    expect(first.filter((r) => r.event === "supervisor-request" && r.path === "/v1-rke2/server-bootstrap").length).toBeGreaterThan(0);
    for (const r of first.filter((r) => r.event === "supervisor-request" && r.path !== "/ping")) {
      expect(full.loadBalancers.map((lb) => lb.ip)).toContain(r.peer as string);
      expect(r.urlHost).toBe(full.spec.loadBalancer.vip);
    }
    const server02 = await records("server02");
    expect(server02.filter((r) => r.event === "start").map((r) => r.mode)).toEqual(["join"]);
    expect(server02.find((r) => r.event === "start")?.server).toBe(`https://${full.spec.loadBalancer.vip}:9345`);
    // The join token: 0600 on the joiners, from the first server.
    token = (await sh("server01", "cat /var/lib/rancher/rke2/server/node-token")).trim();
    expect(token).toMatch(/^K10[0-9a-f]{64}::server:/);
    for (const host of ["server02", "agent01", "agent02"]) expect(await sh(host, "stat -c %a /etc/rancher/rke2/join-token; cat /etc/rancher/rke2/join-token")).toBe(`600\n${token}\n`);
  }, STEP_MS);

  test("once the drop-in is gone the next apply joins server03 and changes no other host", async () => {
    await sh("server03", "rm /etc/rancher/rke2/config.yaml.d/99-broken.yaml");
    const others = ["server01", "server02", "agent01", "agent02"];
    const before = await Promise.all(others.map(hostState));
    const result = await drive("apply", spec(2));
    expect(result.failed.size).toBe(0);
    expect([...result.observed].filter(([, o]) => o.acts).map(([step]) => step)).toEqual(["server-rest:server03"]);
    expect(await Promise.all(others.map(hostState))).toEqual(before);
    const ready = await sh("server01", "/var/lib/rancher/rke2/bin/kubectl --kubeconfig /etc/rancher/rke2/rke2.yaml get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}'");
    expect(ready.trim().split(" ").sort()).toEqual(["agent01=True", "agent02=True", "server01=True", "server02=True", "server03=True"]);
    // Learners were added one at a time: never a "too many learner members" failure.
    const adds = (await Promise.all(["server02", "server03"].map(records))).flat().filter((r) => r.event === "etcd-learner-add");
    expect(adds.map((r) => r.ok)).toEqual([true, true]);
  }, STEP_MS);

  test("the lock keeps MicroOS's own update from moving RKE2; without it the update would (the control); apply puts it back", async () => {
    // agent01 locked: the daily update finds nothing to do for RKE2.
    const locked = await lab.exec("agent01", ["sh", "-c", "transactional-update -n dup; grep -c '\"rke2-agent\"' /var/lib/starbase-lab/packages.json"]);
    expect(locked.stdout).not.toContain("New default snapshot");
    expect(locked.stdout.trim().endsWith("1")).toBe(true);
    await lab.reboot("agent01");
    expect(await sh("agent01", "rpm -q --qf '%{VERSION}\\n' rke2-agent")).toBe("1.33.5~rke2r1\n");
    // agent02 without the lock: the same update would take it to the newest release (not rebooted).
    await sh("agent02", "zypper removelock rke2-agent rke2-common");
    const unlocked = await sh("agent02", "transactional-update -n dup");
    expect(unlocked).toContain("New default snapshot");
    expect(JSON.parse(await sh("agent02", "cat /var/lib/starbase-lab/packages.json")).pending.install["rke2-agent"]).toBe("1.34.1~rke2r1-0");
    await sh("agent02", "transactional-update -n pkg install chrony"); // discards that pending snapshot
    const repaired = await drive("apply", spec(2));
    expect(repaired.observed.get("agents:agent02")?.changes).toContain("+ package lock on agent02 (keep transactional-update from moving RKE2 to another release)");
    expect([...repaired.observed].filter(([, o]) => o.acts).map(([step]) => step)).toEqual(["agents:agent02"]);
    expect(await sh("agent02", "zypper locks")).toBe("1 | rke2-agent | package | (any)\n2 | rke2-common | package | (any)\n");
  }, STEP_MS);

  test("a second apply writes nothing and restarts nothing, by the hosts' own state; one connection per host", async () => {
    const hosts = rke2Hosts(buildInventory(spec(2)));
    const before = await Promise.all(hosts.map(hostState));
    const result = await drive("apply", spec(2));
    expect(result.failed.size).toBe(0);
    expect([...result.observed].filter(([, o]) => o.acts)).toEqual([]);
    for (const [, o] of result.observed) for (const line of o.changes) expect(line.startsWith("= ")).toBe(true);
    expect(await Promise.all(hosts.map(hostState))).toEqual(before);
    expect(Object.fromEntries(hosts.map((h) => [h, result.done.connections[h]]))).toEqual(Object.fromEntries(hosts.map((h) => [h, 1])));
  }, STEP_MS);

  test("plan with another pinned release reports each node's release and what the spec wants; nothing acts", async () => {
    const result = await drive("plan", spec(2, { channel: undefined, version: "v1.34.1+rke2r1" }));
    expect(result.done.channelRequests).toBe(0);
    for (const host of rke2Hosts(buildInventory(spec(2)))) {
      const kind = host === "server01" ? "server-first" : host.startsWith("server") ? "server-rest" : "agents";
      const o = result.observed.get(`${kind}:${host}`);
      expect(o?.changes).toContain(`~ RKE2 on ${host} version: ${STABLE} → v1.34.1+rke2r1 (runs another release than the spec; starbase does not upgrade yet)`);
      expect(o?.acts).toBe(false);
    }
  }, STEP_MS);

  test("adding agent03 to the spec joins just it", async () => {
    const hosts = rke2Hosts(buildInventory(spec(2)));
    const before = await Promise.all(hosts.map(hostState));
    const result = await drive("apply", spec(3));
    expect(result.failed.size).toBe(0);
    expect([...result.observed].filter(([, o]) => o.acts).map(([step]) => step)).toEqual(["agents:agent03"]);
    expect(await Promise.all(hosts.map(hostState))).toEqual(before);
    expect(await sh("agent03", "rpm -q --qf '%{VERSION}\\n' rke2-agent")).toBe("1.33.5~rke2r1\n");
    expect((await records("agent03")).some((r) => r.event === "node-ready")).toBe(true);
  }, STEP_MS);

  test("the node token appeared in no output of any run", () => {
    expect(token.length).toBeGreaterThan(20);
    const password = token.split("::server:")[1] ?? token;
    for (const text of outputs) {
      expect(text.includes(token)).toBe(false);
      expect(text.includes(password)).toBe(false);
    }
  });
});
