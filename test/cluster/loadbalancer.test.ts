// The lb-first / lb-rest steps on real lab hosts (Debian's keepalived and haproxy under real
// systemd), driven from the lab's control namespace through one SshPool: the first run writes,
// checks and starts both load balancers and the VIP answers through the real haproxy; a second
// run does nothing (proven by the hosts' own state); a configuration the node refuses is never
// installed; a changed backend list reloads haproxy without a restart; and the rendered pair
// fails over when the MASTER's keepalived stops or its link is cut (figures printed).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { specTopology } from "../../scripts/lab.ts";
import { type Lab, labUp } from "../lab/lab.ts";
import { run } from "../lab/netns.ts";
import { type JsonDriver, spawnDriver } from "../ssh/driver-client.ts";
import type { LbDriverRequest, ProbeResult, StepResult } from "./lb-driver.ts";

const NET = "198.18.52";
const VIP = `${NET}.10`;
const LB1 = `${NET}.11`;
const LB2 = `${NET}.12`;
const SERVER1 = `${NET}.21`;
type Request = LbDriverRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

function specYaml(key: string, opts: { servers: string[]; interface?: string }): string {
  const servers = opts.servers.map((ip, i) => `{ name: server0${i + 1}, ip: ${ip} }`).join(", ");
  return `name: lbtest
proxmox:
  endpoint: https://pve.lan:8006
  tokenId: root@pam!starbase
  tokenSecret: { env: PVE_TOKEN_SECRET }
  tls: { fingerprint: "03:7C:FE:46:31:B7:7A:DE:9E:80:AD:95:AD:41:E4:1D:B4:D4:EF:71:96:C3:A7:F2:4E:26:7A:F7:B5:AD:83:AF" }
  nodes: [pve]
ssh:
  user: ops
  authorizedKeys: ["${key}"]
  hostKeySecret: { file: hostkey.secret }
network:
  bridge: vmbr0
  interface: ${opts.interface ?? "eth7"}
  cidr: ${NET}.0/24
  gateway: ${NET}.1
  dns: [${NET}.1]
nodes:
  loadBalancers:
    hosts: [{ name: lb01, ip: ${LB1} }, { name: lb02, ip: ${LB2} }]
  servers:
    hosts: [${servers}]
loadBalancer:
  vip: ${VIP}
`;
}

/** Answers with "<server> via <haproxy's address>", then echoes what it gets (a long-lived connection). */
const RESPONDER = `#!/bin/sh
echo "$(hostname) via $SOCAT_PEERADDR"
exec cat
`;

let scratch = "";
let lab: Lab | undefined;
let driver: JsonDriver<Request> | undefined;
const specs: Record<string, string> = {};

function theLab(): Lab {
  if (lab === undefined) throw new Error("the lab is not up");
  return lab;
}

async function inHost(host: string, script: string, stdin?: string): Promise<string> {
  const result = await theLab().exec(host, ["sh", "-c", script], stdin === undefined ? {} : { stdin });
  if (result.code !== 0) throw new Error(`${host}: ${script}: exit ${result.code}: ${result.stderr}`);
  return result.stdout;
}

async function converge(spec: string): Promise<StepResult[]> {
  return driver!.value<StepResult[]>({ op: "converge", spec: specs[spec]! });
}

/**
 * What a write, a reload or a restart would change: content hash, mode, mtime and inode of both
 * files; each unit's start time and main PID, its worker processes (haproxy starts new ones on a
 * reload) and how often systemd logged a reload of it.
 */
async function hostState(host: string): Promise<Record<string, string>> {
  const out = await inHost(host, [
    "for f in /etc/keepalived/keepalived.conf /etc/haproxy/haproxy.cfg; do printf '%s %s %s\\n' \"$f\" \"$(sha256sum < $f | cut -c1-16)\" \"$(stat -c '%a %U:%G %Y.%y %i' $f)\"; done",
    "for u in keepalived haproxy; do",
    "  pid=$(systemctl show -P MainPID $u)",
    "  printf '%s %s children=%s reloads=%s\\n' $u \"$(systemctl show -p ActiveEnterTimestampMonotonic -p MainPID -p ActiveState -p UnitFileState $u | tr '\\n' ' ')\" \"$(pgrep -P $pid | tr '\\n' ,)\" \"$(journalctl -u $u -o cat | grep -c '^Reloaded')\"",
    "done",
  ].join("\n"));
  return Object.fromEntries(out.trim().split("\n").map((line) => [line.slice(0, line.indexOf(" ")), line.slice(line.indexOf(" ") + 1)]));
}

/** The unit's line without its worker PIDs and reload count: what a restart changes and a reload does not. */
function startOf(unitState: string | undefined): string {
  return (unitState ?? "").replace(/ children=.*$/, "");
}

function reloadsOf(unitState: string | undefined): number {
  return Number(/reloads=(\d+)/.exec(unitState ?? "")?.[1]);
}

async function holdsVip(host: string): Promise<boolean> {
  return (await inHost(host, "ip -o -4 address show")).includes(` ${VIP}/24 `);
}

async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(100);
  }
}

function semanageCalls(log: string): number {
  return log.split("\n").filter((line) => line.includes('"semanage"') && /"-a"|"-m"/.test(line)).length;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "lb-steps-"));
  const key = join(scratch, "id_ed25519");
  run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ops@lbtest", "-f", key]);
  const publicKey = readFileSync(`${key}.pub`, "utf8").trim();
  writeFileSync(join(scratch, "hostkey.secret"), "lb-test-hostkey-secret-0123456789abcdef\n", { mode: 0o600 });
  const write = (name: string, yaml: string) => {
    specs[name] = join(scratch, `${name}.yaml`);
    writeFileSync(specs[name], yaml);
  };
  write("one-server", specYaml(publicKey, { servers: [SERVER1] }));
  write("two-servers", specYaml(publicKey, { servers: [SERVER1, `${NET}.22`] }));
  write("wrong-nic", specYaml(publicKey, { servers: [SERVER1, `${NET}.22`], interface: "eth9" }));
  const labDir = join(scratch, "lab");
  lab = await labUp(labDir, specTopology(specs["one-server"]!, labDir, 1000));
  // A responder on server01's API and registration ports (server02 of the second spec has no host: haproxy marks it down).
  await inHost("server01", "cat > /usr/local/bin/responder && chmod 755 /usr/local/bin/responder", RESPONDER);
  for (const port of [6443, 9345]) {
    await inHost("server01", `systemd-run --unit=responder-${port} socat TCP-LISTEN:${port},fork,reuseaddr EXEC:/usr/local/bin/responder`);
  }
  driver = spawnDriver<Request>([...theLab().controlExec, process.execPath, join(import.meta.dir, "lb-driver.ts"), JSON.stringify({ user: "ops", privateKeyFile: key })]);
}, 300_000);

afterAll(async () => {
  await driver?.stop();
  await lab?.down();
  if (scratch !== "") rmSync(scratch, { recursive: true, force: true });
}, 60_000);

describe("lb-first and lb-rest on two lab load balancers", () => {
  test("first run: both files written with their modes after the node checked them, ports labelled, units enabled and started; the VIP answers through the real haproxy and only lb01 holds it", async () => {
    const steps = await converge("one-server");
    expect(steps.map((s) => [s.id, s.error])).toEqual([["lb-first:lb01", undefined], ["lb-rest:lb02", undefined]]);
    for (const step of steps) {
      const host = step.id.split(":")[1]!;
      expect(step.acted).toBe(true);
      expect(step.changes).toEqual(expect.arrayContaining([
        `+ ${host} /etc/keepalived/keepalived.conf (missing)`,
        // The package ships a haproxy.cfg of its own (Debian's, as MicroOS's does).
        `~ ${host} /etc/haproxy/haproxy.cfg (differs from the spec)`,
        `+ ${host} SELinux port tcp/6443 type: (unset) → http_port_t (haproxy binds it)`,
        `+ ${host} SELinux port tcp/9345 type: (unset) → http_port_t (haproxy binds it)`,
        `+ ${host} haproxy.service enabled (is disabled)`,
        `+ ${host} keepalived.service started (is inactive)`,
      ]));
      const state = await hostState(host);
      expect(state["/etc/keepalived/keepalived.conf"]).toMatch(/^\S+ 600 root:root /);
      expect(state["/etc/haproxy/haproxy.cfg"]).toMatch(/^\S+ 644 root:root /);
      for (const unit of ["keepalived", "haproxy"]) expect(state[unit]).toContain("ActiveState=active UnitFileState=enabled");
      // The node's files are what render wrote for it, byte for byte; no temporary file is left.
      const rendered = readFileSync(join(scratch, "lab", "render", host, "etc", "haproxy", "haproxy.cfg"), "utf8");
      expect(await inHost(host, "cat /etc/haproxy/haproxy.cfg")).toBe(rendered);
      expect(await inHost(host, "ls -a /etc/haproxy /etc/keepalived")).not.toContain("starbase-new");
      expect(semanageCalls(await inHost(host, "cat /var/log/starbase-lab/calls.jsonl"))).toBe(2);
    }
    expect(await holdsVip("lb01")).toBe(true);
    expect(await holdsVip("lb02")).toBe(false);
    const answer = await driver!.value<ProbeResult>({ op: "probe", address: VIP, port: 6443, timeoutMs: 10_000 });
    expect(answer.answer).toBe(`server01 via ${LB1}`);
  }, 120_000);

  test("second run: only '=' lines, nothing acted; files, mtimes, inodes, unit start times and PIDs unchanged on both hosts; still one SSH connection per host", async () => {
    const before = { lb01: await hostState("lb01"), lb02: await hostState("lb02") };
    const labelled = semanageCalls(await inHost("lb01", "cat /var/log/starbase-lab/calls.jsonl"));
    const steps = await converge("one-server");
    for (const step of steps) {
      expect(step.error).toBeUndefined();
      expect(step.acted).toBe(false);
      expect(step.changes.filter((line) => !line.startsWith("= "))).toEqual([]);
    }
    expect(steps.find((s) => s.id === "lb-rest:lb02")?.changes).toContain(`= VIP ${VIP} (held by lb01)`);
    expect({ lb01: await hostState("lb01"), lb02: await hostState("lb02") }).toEqual(before);
    expect(semanageCalls(await inHost("lb01", "cat /var/log/starbase-lab/calls.jsonl"))).toBe(labelled);
    expect(await driver!.value<Record<string, number>>({ op: "connections" })).toEqual({ lb01: 1, lb02: 1 });
  }, 120_000);

  test("a keepalived.conf the node refuses (the spec names a NIC the hosts lack) is never installed: the step fails with keepalived's message, host and step named; the running config and the VIP stay", async () => {
    const before = await hostState("lb01");
    const steps = await converge("wrong-nic");
    expect(steps).toHaveLength(1);
    const [first] = steps;
    expect(first!.error).toContain("lb01 (lb-first): keepalived refused the rendered /etc/keepalived/keepalived.conf; the running configuration stays");
    expect(first!.error).toContain("eth9");
    expect(first!.error).not.toContain("starbase-new");
    const after = await hostState("lb01");
    expect(after["/etc/keepalived/keepalived.conf"]).toBe(before["/etc/keepalived/keepalived.conf"]!);
    expect(after.keepalived).toBe(before.keepalived!);
    expect(after.haproxy).toBe(before.haproxy!);
    expect(await inHost("lb01", "grep -c eth7 /etc/keepalived/keepalived.conf")).not.toBe("0\n");
    expect(await inHost("lb01", "ls -a /etc/keepalived")).not.toContain("starbase-new");
    expect(await holdsVip("lb01")).toBe(true);
  }, 120_000);

  test("a haproxy.cfg the node refuses (lb01 has lost its haproxy user) is never installed: the step fails with haproxy's message; haproxy keeps its config and is not reloaded", async () => {
    const before = await hostState("lb01");
    await inHost("lb01", "sed -i 's/^haproxy:/haproxx:/' /etc/passwd");
    let steps: StepResult[];
    try {
      steps = await converge("two-servers");
    } finally {
      await inHost("lb01", "sed -i 's/^haproxx:/haproxy:/' /etc/passwd");
    }
    expect(steps.map((s) => s.id)).toEqual(["lb-first:lb01"]);
    const error = steps[0]!.error ?? "";
    expect(error).toContain("lb01 (lb-first): haproxy refused the rendered /etc/haproxy/haproxy.cfg; the running configuration stays");
    expect(error).toContain("cannot find user id for 'haproxy'");
    expect(error).not.toContain("starbase-new");
    expect(await hostState("lb01")).toEqual(before);
    expect(await inHost("lb01", "ls -a /etc/haproxy")).not.toContain("starbase-new");
  }, 120_000);

  test("a server added to the spec: haproxy.cfg rewritten and haproxy reloaded on both (same master PID and start time, a connection through the VIP survives); keepalived untouched", async () => {
    const before = { lb01: await hostState("lb01"), lb02: await hostState("lb02") };
    const held = await driver!.value<{ hold: number; first: string }>({ op: "hold", address: VIP, port: 6443 });
    expect(held.first).toBe(`server01 via ${LB1}`);
    const steps = await converge("two-servers");
    for (const step of steps) {
      const host = step.id.split(":")[1]!;
      expect(step.error).toBeUndefined();
      expect(step.changes.filter((line) => !line.startsWith("= "))).toEqual([
        `~ ${host} /etc/haproxy/haproxy.cfg (differs from the spec)`,
        `~ ${host} haproxy.service reloaded (its configuration changed)`,
      ]);
      const after = await hostState(host);
      const was = before[host as "lb01" | "lb02"];
      expect(after["/etc/haproxy/haproxy.cfg"]).not.toBe(was["/etc/haproxy/haproxy.cfg"]!);
      expect(await inHost(host, "grep -c 'server server02 " + `${NET}.22` + "' /etc/haproxy/haproxy.cfg")).toBe("2\n");
      // A reload, not a restart: the unit's start time and master PID stay, its workers are new.
      expect(startOf(after.haproxy)).toBe(startOf(was.haproxy));
      expect(reloadsOf(after.haproxy)).toBe(reloadsOf(was.haproxy) + 1);
      expect(after.haproxy).not.toBe(was.haproxy!);
      expect(after.keepalived).toBe(was.keepalived!);
      expect(after["/etc/keepalived/keepalived.conf"]).toBe(was["/etc/keepalived/keepalived.conf"]!);
    }
    expect(await driver!.value<string>({ op: "echo", hold: held.hold, text: "still here" })).toBe("still here");
  }, 120_000);

  test("failover with the rendered configs: the MASTER's keepalived stopped, then its link cut; VIP:6443 answers through lb02", async () => {
    const { switchNetns } = theLab().state;
    const lb01Port = `h${theLab().state.hosts.findIndex((h) => h.name === "lb01")}n0`;
    expect(await holdsVip("lb01")).toBe(true);

    // A: keepalived stopped on the MASTER (SIGTERM: it sends priority 0).
    const stopProbe = driver!.value<ProbeResult>({ op: "probe", address: VIP, port: 6443, notVia: LB1, timeoutMs: 20_000 });
    const stoppedAt = Date.now();
    await inHost("lb01", "systemctl stop keepalived");
    const stopped = await stopProbe;
    const stopSeconds = (stopped.at - stoppedAt) / 1000;
    expect(stopped.answer).toBe(`server01 via ${LB2}`);
    expect(await holdsVip("lb02")).toBe(true);

    // Back to lb01 (higher priority, preempt), then B: lb01's link cut at the switch.
    await inHost("lb01", "systemctl start keepalived");
    await waitFor("lb01 to take the VIP back", async () => (await holdsVip("lb01")) && !(await holdsVip("lb02")));
    await driver!.value<ProbeResult>({ op: "probe", address: VIP, port: 6443, timeoutMs: 10_000 });
    const cutProbe = driver!.value<ProbeResult>({ op: "probe", address: VIP, port: 6443, notVia: LB1, timeoutMs: 30_000 });
    const cutAt = Date.now();
    run(["ip", "-n", switchNetns, "link", "set", lb01Port, "down"]);
    let cut: ProbeResult;
    let takenAt = 0;
    try {
      // When lb02 itself holds the VIP, apart from when the control side reaches it there.
      const taken = waitFor("lb02 to take the VIP", () => holdsVip("lb02")).then(() => (takenAt = Date.now()));
      cut = await cutProbe;
      await taken;
    } finally {
      run(["ip", "-n", switchNetns, "link", "set", lb01Port, "up"]);
    }
    const cutSeconds = (cut.at - cutAt) / 1000;
    console.log(`link cut: lb02 held the VIP after ${((takenAt - cutAt) / 1000).toFixed(2)} s (seen from inside lb02, ±0.2 s)`);
    expect(cut.answer).toBe(`server01 via ${LB2}`);
    console.log(`failover through lb02: keepalived stopped on the MASTER ${stopSeconds.toFixed(2)} s (target ≤ 1 s, ${stopped.attempts} probes); link cut ${cutSeconds.toFixed(2)} s (target ≤ 4 s, ${cut.attempts} probes)`);
    // Generous bounds only (2 shared cores): timings belong in bench/.
    expect(stopSeconds).toBeLessThan(10);
    expect(cutSeconds).toBeLessThan(20);
    await waitFor("lb01 to take the VIP back after the link returns", async () => (await holdsVip("lb01")) && !(await holdsVip("lb02")));
  }, 180_000);
});
