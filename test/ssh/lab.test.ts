// src/ssh/ against real OpenSSH servers: lab hosts (systemd-nspawn, real sshd) on 198.18.40-42.x.
// The client runs in the lab's control namespace (driver.ts), which reaches only the front network:
//
//   control ── front ──┬── node1 (root; host key derived by starbase)
//                      ├── node2 (login ops with sudo, plain without; derived key)
//                      └── j1 ── mid ── j2 ── back ── far (derived key)
//
// j1 and j2 are jump hosts starbase did not create: their keys come from known_hosts.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostKey } from "../../src/render/hostkeys.ts";
import type { ExecResult } from "../../src/ssh/exec.ts";
import { fingerprint } from "../../src/ssh/known-hosts.ts";
import type { HostTarget, JumpHop } from "../../src/ssh/pool.ts";
import { sha256Hex } from "../../src/ssh/put.ts";
import { type Lab, labUp } from "../lab/lab.ts";
import type { DriverConfig } from "./driver.ts";
import { type Driver, startDriver } from "./driver-client.ts";

// Each test starts a client process and logs in; on a loaded machine that alone can take seconds.
setDefaultTimeout(30_000);

const SECRET = "ssh-lab-test-secret-0123456789";
const CLUSTER = "sshlab";
const FRONT = "198.18.40";
const MID = "198.18.41";
const BACK = "198.18.42";

let scratch: string;
let lab: Lab;
const keyFiles: Record<"plain" | "encrypted" | "agent" | "stranger", string> = { plain: "", encrypted: "", agent: "", stranger: "" };
const PASSPHRASE = "a passphrase nobody prints";
const drivers: Driver[] = [];
let agentPid: number | undefined;
let agentSocket = "";

const derived = (name: string) => hostKey(SECRET, CLUSTER, name);
const pinned = (name: string): HostTarget["hostKey"] => ({ kind: "pinned", publicKeys: [derived(name).publicKey], source: "derived from ssh.hostKeySecret" });

function target(name: string, address: string): HostTarget {
  return { name, address, hostKey: pinned(name) };
}

const NODE1 = target("node1", `${FRONT}.11`);
const NODE2 = target("node2", `${FRONT}.12`);
const FAR = target("far", `${BACK}.31`);

function keygen(path: string, passphrase = ""): string {
  const made = Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-C", path, "-f", path]);
  if (made.exitCode !== 0) throw new Error(made.stderr.toString());
  return readFileSync(`${path}.pub`, "utf8").trim();
}

function driver(config: Partial<DriverConfig> & { hosts: HostTarget[] }): Driver {
  const started = startDriver(lab.controlExec, { user: "root", privateKeyFile: keyFiles.plain, connectRetry: { deadlineMs: 20_000, initialDelayMs: 200, maxDelayMs: 1000 }, ...config });
  drivers.push(started);
  return started;
}

async function onHost(name: string, script: string): Promise<string> {
  const result = await lab.exec(name, ["sh", "-c", script]);
  if (result.code !== 0) throw new Error(`${name}: ${script}: ${result.stderr}`);
  return result.stdout;
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "sb-ssh-lab-"));
  const authorized: string[] = [];
  for (const name of ["plain", "encrypted", "agent", "stranger"] as const) {
    keyFiles[name] = join(scratch, `id_${name}`);
    const publicKey = keygen(keyFiles[name], name === "encrypted" ? PASSPHRASE : "");
    if (name !== "stranger") authorized.push(publicKey);
  }
  const root = [{ name: "root", authorizedKeys: authorized }];
  lab = await labUp(join(scratch, "lab"), {
    networks: [
      { name: "front", cidr: `${FRONT}.0/24` },
      { name: "mid", cidr: `${MID}.0/24` },
      { name: "back", cidr: `${BACK}.0/24` },
    ],
    hosts: [
      { name: "node1", nics: [{ network: "front", ip: `${FRONT}.11` }], login: root, hostKey: derived("node1"), defaultRoute: null },
      {
        name: "node2",
        nics: [{ network: "front", ip: `${FRONT}.12` }],
        login: [
          { name: "ops", authorizedKeys: authorized, sudo: "ALL=(ALL) NOPASSWD:ALL" },
          { name: "plain", authorizedKeys: authorized },
        ],
        hostKey: derived("node2"),
        defaultRoute: null,
      },
      { name: "j1", nics: [{ network: "front", ip: `${FRONT}.21` }, { network: "mid", ip: `${MID}.21` }], login: root, defaultRoute: null },
      { name: "j2", nics: [{ network: "mid", ip: `${MID}.22` }, { network: "back", ip: `${BACK}.22` }], login: root, defaultRoute: null },
      { name: "far", nics: [{ network: "back", ip: `${BACK}.31` }], login: root, hostKey: derived("far"), defaultRoute: null },
    ],
    control: [{ network: "front" }],
  });
}, 240_000);

afterAll(async () => {
  await Promise.all(drivers.map((d) => d.stop()));
  if (agentPid !== undefined) process.kill(agentPid, "SIGTERM");
  await lab?.down();
  rmSync(scratch, { recursive: true, force: true });
}, 120_000);

describe("authentication", () => {
  test("a key file: every command on a host shares one connection, also beyond sshd's MaxSessions", async () => {
    // 10 channels at once is sshd's MaxSessions: a channel that just ended still holds its session
    // for a moment, so some opens are refused and must be retried, and no exit status may be lost.
    const d = driver({ hosts: [NODE1], maxChannelsPerHost: 10 });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => d.value<ExecResult>({ op: "exec", host: "node1", command: `echo ${i}; hostname` })));
    expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 40 }, (_, i) => `${i}\nnode1\n`));
    expect(results.every((r) => r.code === 0)).toBe(true);
    const failing = await d.value<ExecResult>({ op: "exec", host: "node1", command: "echo out; echo err >&2; exit 7" });
    expect(failing).toEqual({ code: 7, stdout: "out\n", stderr: "err\n" });
    expect(await d.value({ op: "connections" })).toEqual({ node1: 1 });
  });

  test("an encrypted key file: the passphrase is asked once for all hosts", async () => {
    const d = driver({ hosts: [NODE1, NODE2], privateKeyFile: keyFiles.encrypted, passphrase: PASSPHRASE });
    expect((await d.value<ExecResult>({ op: "exec", host: "node1", command: "hostname" })).stdout).toBe("node1\n");
    const asOps = driver({ user: "ops", hosts: [NODE2], privateKeyFile: keyFiles.encrypted, passphrase: PASSPHRASE });
    expect((await asOps.value<ExecResult>({ op: "exec", host: "node2", command: "hostname" })).stdout).toBe("node2\n");
    expect(await d.value({ op: "passphraseAsked" })).toBe(1);
  });

  test("ssh-agent: a key only the agent holds logs in", async () => {
    agentSocket = join(scratch, "agent.sock");
    const agent = Bun.spawn(["ssh-agent", "-D", "-a", agentSocket], { stdout: "ignore", stderr: "ignore" });
    agentPid = agent.pid;
    for (let i = 0; i < 100 && Bun.spawnSync(["test", "-S", agentSocket]).exitCode !== 0; i++) await Bun.sleep(20);
    const added = Bun.spawnSync(["ssh-add", keyFiles.agent], { env: { SSH_AUTH_SOCK: agentSocket, PATH: process.env.PATH ?? "/usr/bin:/bin" }, stderr: "pipe" });
    expect(added.exitCode).toBe(0);
    const d = startDriver(lab.controlExec, { user: "root", agentSocket, hosts: [NODE1] }); // no key file: only the agent

    drivers.push(d);
    expect((await d.value<ExecResult>({ op: "exec", host: "node1", command: "hostname" })).stdout).toBe("node1\n");
    // The same agent's key, through sshd's own record of what logged in.
    const agentFingerprint = Bun.spawnSync(["ssh-keygen", "-lf", `${keyFiles.agent}.pub`]).stdout.toString().split(" ")[1] ?? "no fingerprint";
    expect(await onHost("node1", "journalctl -u ssh --no-pager -o cat | grep Accepted || true")).toContain(agentFingerprint);
  });

  test("a refused login names the user, the key file and the agent, and is not retried", async () => {
    const emptyAgent = join(scratch, "empty-agent.sock");
    const agent = Bun.spawn(["ssh-agent", "-D", "-a", emptyAgent], { stdout: "ignore", stderr: "ignore" });
    try {
      for (let i = 0; i < 100 && Bun.spawnSync(["test", "-S", emptyAgent]).exitCode !== 0; i++) await Bun.sleep(20);
      const d = driver({ hosts: [NODE1], privateKeyFile: keyFiles.stranger, agentSocket: emptyAgent, connectRetry: { deadlineMs: 60_000, initialDelayMs: 15_000, maxDelayMs: 15_000 } });
      const response = await d.call({ op: "exec", host: "node1", command: "hostname" });
      expect(response.ok).toBe(false);
      if (response.ok) return;
      expect(response.error).toMatchObject({ kind: "auth", retryable: false, host: "node1" });
      expect(response.error.message).toBe(
        `node1: authentication as root failed: tried ssh-agent at ${emptyAgent}, key file ${keyFiles.stranger}; the key must be in ssh.authorizedKeys on the host`,
      );
      expect(response.ms).toBeLessThan(15_000); // no retry: a retry would wait 15 s first
    } finally {
      agent.kill();
      await agent.exited;
    }
  });
});

describe("host keys", () => {
  test("a wrong host key is refused before any command runs, with both fingerprints, and not retried", async () => {
    const impostor = { ...NODE1, hostKey: pinned("node2") }; // node1 answers with its own key, not node2's
    const d = driver({ hosts: [impostor], connectRetry: { deadlineMs: 60_000, initialDelayMs: 15_000, maxDelayMs: 15_000 } });
    const response = await d.call({ op: "exec", host: "node1", command: "touch /root/ran-anyway" });
    expect(response.ok).toBe(false);
    if (response.ok) return;
    const presented = fingerprint(Buffer.from(derived("node1").publicKey.split(" ")[1] ?? "", "base64"));
    const expected = fingerprint(Buffer.from(derived("node2").publicKey.split(" ")[1] ?? "", "base64"));
    expect(response.error).toMatchObject({ name: "HostKeyMismatchError", kind: "host-key", retryable: false, host: "node1" });
    expect(response.error.message).toContain(`presented ${presented}, expected ${expected}`);
    expect(response.ms).toBeLessThan(15_000); // no retry: a retry would wait 15 s first
    expect((await lab.exec("node1", ["test", "-e", "/root/ran-anyway"])).code).toBe(1);
    expect(await d.value({ op: "connections" })).toEqual({ node1: 0 });
  });
});

describe("jump hosts", () => {
  let hashedKnownHosts: string;
  const hop = (address: string, file: string, acceptNew = false): JumpHop => ({
    user: "root",
    host: address,
    port: 22,
    hostKey: { kind: "known-hosts", file, acceptNew },
  });

  beforeAll(() => {
    // The lab's known_hosts lists every host by name and addresses; hash it as HashKnownHosts would.
    hashedKnownHosts = join(scratch, "known_hosts.hashed");
    writeFileSync(hashedKnownHosts, readFileSync(lab.knownHosts, "utf8"));
    expect(Bun.spawnSync(["ssh-keygen", "-q", "-H", "-f", hashedKnownHosts]).exitCode).toBe(0);
    expect(readFileSync(hashedKnownHosts, "utf8")).not.toContain(MID);
  });

  test("the control side reaches only the first hop", async () => {
    const d = driver({ hosts: [{ ...FAR }], connectRetry: { deadlineMs: 500, initialDelayMs: 200, maxDelayMs: 200 } });
    const response = await d.call({ op: "exec", host: "far", command: "hostname" });
    expect(response.ok).toBe(false);
    if (!response.ok) expect(response.error).toMatchObject({ kind: "connect", retryable: true, host: "far" });
  });

  test("a chain of two hops, checked against a hashed known_hosts, one connection per hop", async () => {
    const d = driver({ hosts: [FAR], jumpHosts: [hop(`${FRONT}.21`, hashedKnownHosts), hop(`${MID}.22`, hashedKnownHosts)] });
    const results = await Promise.all([1, 2, 3].map(() => d.value<ExecResult>({ op: "exec", host: "far", command: "hostname" })));
    expect(results.map((r) => r.stdout)).toEqual(["far\n", "far\n", "far\n"]);
    expect(await d.value({ op: "connections" })).toEqual({ [`jump host root@${FRONT}.21`]: 1, [`jump host root@${MID}.22`]: 1, far: 1 });
    // far saw the connection come from j2, not from the control side.
    expect((await d.value<ExecResult>({ op: "exec", host: "far", command: "echo $SSH_CLIENT" })).stdout).toStartWith(`${BACK}.22 `);
  });

  test("connectTcp goes out where the hosts are reached: through the chain's far end, which reaches what the control side cannot", async () => {
    const direct = driver({ hosts: [] });
    const unreachable = await direct.call({ op: "connectTcp", address: `${BACK}.31`, port: 22, timeoutMs: 1000 });
    expect(unreachable.ok).toBe(false);
    const d = driver({ hosts: [], jumpHosts: [hop(`${FRONT}.21`, hashedKnownHosts), hop(`${MID}.22`, hashedKnownHosts)] });
    expect(await d.call({ op: "connectTcp", address: `${BACK}.31`, port: 22, timeoutMs: 5000 })).toMatchObject({ ok: true });
    // Nothing listens on far:23: j2's sshd reports the refusal, which comes back at once.
    const closed = await d.call({ op: "connectTcp", address: `${BACK}.31`, port: 23, timeoutMs: 5000 });
    expect(closed.ok).toBe(false);
    if (!closed.ok) expect(closed.error.message).toContain(`cannot reach ${BACK}.31:23`);
    // And straight from the control side to what it does reach.
    expect(await direct.call({ op: "connectTcp", address: `${FRONT}.11`, port: 22, timeoutMs: 5000 })).toMatchObject({ ok: true });
  });

  test("a jump host whose key is not in known_hosts is refused; accept-new adds it once", async () => {
    const onlyJ1 = join(scratch, "known_hosts.j1-only");
    writeFileSync(onlyJ1, readFileSync(lab.knownHosts, "utf8").split("\n").filter((line) => line.startsWith("j1,")).join("\n"));
    const strict = driver({ hosts: [FAR], jumpHosts: [hop(`${FRONT}.21`, onlyJ1), hop(`${MID}.22`, onlyJ1)] });
    const refused = await strict.call({ op: "exec", host: "far", command: "hostname" });
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error).toMatchObject({ kind: "host-key", retryable: false, host: `jump host root@${MID}.22` });
      expect(refused.error.message).toContain(`is not in ${onlyJ1}`);
    }
    const accepting = driver({ hosts: [FAR], jumpHosts: [hop(`${FRONT}.21`, onlyJ1), hop(`${MID}.22`, onlyJ1, true)] });
    expect((await accepting.value<ExecResult>({ op: "exec", host: "far", command: "hostname" })).stdout).toBe("far\n");
    const j2Key = lab.host("j2").hostKey.split(" ").slice(0, 2).join(" ");
    expect(readFileSync(onlyJ1, "utf8")).toContain(`${MID}.22 ${j2Key}`);
    const strictAgain = driver({ hosts: [FAR], jumpHosts: [hop(`${FRONT}.21`, onlyJ1), hop(`${MID}.22`, onlyJ1)] });
    expect((await strictAgain.value<ExecResult>({ op: "exec", host: "far", command: "hostname" })).stdout).toBe("far\n");
  });

  test("a target the last hop cannot reach (a VM not up yet) is retried until the deadline; the hops stay up", async () => {
    const ghost = target("ghost", `${BACK}.99`);
    const d = driver({
      hosts: [ghost],
      jumpHosts: [hop(`${FRONT}.21`, hashedKnownHosts), hop(`${MID}.22`, hashedKnownHosts)],
      connectTimeoutMs: 1000,
      connectRetry: { deadlineMs: 2500, initialDelayMs: 200, maxDelayMs: 400 },
    });
    const response = await d.call({ op: "exec", host: "ghost", command: "hostname" });
    expect(response.ok).toBe(false);
    if (response.ok) return;
    expect(response.error).toMatchObject({ kind: "jump", retryable: true, host: "ghost" });
    expect(response.error.message).toMatch(new RegExp(`^ghost: jump host jump host root@${MID}.22 (did not reach|cannot reach) ${BACK}.99:22.*\\(gave up after \\d+ attempts in `));
    expect(response.ms).toBeLessThan(20_000); // bounded by the 2.5 s deadline, not the jump host's TCP timeout
    // The hops stay connected for the hosts that are up.
    expect(await d.value({ op: "connections" })).toEqual({ [`jump host root@${FRONT}.21`]: 1, [`jump host root@${MID}.22`]: 1, ghost: 0 });
  });

  test("a jump host with a changed key stops the chain before the target", async () => {
    const wrong = join(scratch, "known_hosts.wrong");
    writeFileSync(wrong, `${FRONT}.21 ${derived("node1").publicKey}\n`);
    const d = driver({ hosts: [FAR], jumpHosts: [hop(`${FRONT}.21`, wrong), hop(`${MID}.22`, wrong)] });
    const response = await d.call({ op: "exec", host: "far", command: "hostname" });
    expect(response.ok).toBe(false);
    if (!response.ok) expect(response.error).toMatchObject({ name: "HostKeyMismatchError", retryable: false, host: `jump host root@${FRONT}.21` });
  });
});

describe("a non-root login user", () => {
  test("commands and puts run as root through sudo -n; the file gets the owner and mode asked for", async () => {
    const d = driver({ user: "ops", hosts: [NODE2] });
    const id = await d.value<ExecResult>({ op: "exec", host: "node2", command: 'id -u; echo "$SUDO_USER"' });
    expect(id.stdout).toBe("0\nops\n");
    await d.value({ op: "put", host: "node2", path: "/etc/starbase-test/secret.yaml", content: "token: t0p\n", options: { mode: 0o640, owner: "ops", group: "root", createParent: true } });
    expect(await onHost("node2", "stat -c '%U:%G %a' /etc/starbase-test/secret.yaml; cat /etc/starbase-test/secret.yaml")).toBe("ops:root 640\ntoken: t0p\n");
    expect(await onHost("node2", "ls -a /etc/starbase-test /tmp | grep -c starbase-put || true")).toBe("0\n");
  });

  test("a user without sudo rights fails at once instead of waiting for a password", async () => {
    const d = driver({ user: "plain", hosts: [NODE2] });
    const result = await d.value<ExecResult>({ op: "exec", host: "node2", command: "id -u" });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("sudo");
    expect(result.stdout).toBe("");
  });
});

describe("put", () => {
  const path = "/etc/starbase-test/big.conf";
  const a = `${"a".repeat(1023)}\n`.repeat(2048); // 2 MiB each
  const b = `${"b".repeat(1023)}\n`.repeat(2048);

  test("a reader never sees a half-written file", async () => {
    const d = driver({ hosts: [NODE1] });
    await d.value({ op: "put", host: "node1", path, content: a, options: { mode: 0o644, createParent: true } });
    const reader = lab.exec("node1", ["sh", "-c", `while [ ! -e /tmp/stop ]; do sha256sum ${path}; done | sort | uniq -c`]);
    for (let i = 0; i < 6; i++) await d.value({ op: "put", host: "node1", path, content: i % 2 === 0 ? b : a, options: { mode: 0o644 } });
    await onHost("node1", "touch /tmp/stop");
    const seen = (await reader).stdout.trim().split("\n").map((line) => line.trim().split(/\s+/)[1]);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((hash) => hash === sha256Hex(a) || hash === sha256Hex(b))).toBe(true);
    expect(new Set(seen).size).toBe(2); // the reader did read while files were replaced
    expect(await onHost("node1", `sha256sum ${path} | cut -d' ' -f1; ls -a /etc/starbase-test`)).toBe(`${sha256Hex(a)}\n.\n..\nbig.conf\n`);
  }, 60_000);

  test("an equal file is not rewritten: the observed hash decides, the file keeps its inode and time", async () => {
    const d = driver({ hosts: [NODE1] });
    const statOf = () => onHost("node1", `stat -c '%i %Y.%y' ${path}`);
    const before = await statOf();
    const observe = async () => (await d.value<ExecResult>({ op: "exec", host: "node1", command: `sha256sum ${path}` })).stdout;
    const putIfChanged = async (content: string) => {
      const observed = (await observe()).split(" ")[0];
      if (observed === sha256Hex(content)) return false;
      await d.value({ op: "put", host: "node1", path, content, options: { mode: 0o644 } });
      return true;
    };
    expect(await putIfChanged(a)).toBe(false);
    expect(await statOf()).toBe(before);
    expect(await putIfChanged(b)).toBe(true);
    expect(await statOf()).not.toBe(before); // a put does replace the file (a new inode)
  });
});

describe("timeouts", () => {
  test("a command that runs too long fails naming it and the time, and its processes are gone", async () => {
    for (const [user, host] of [["root", NODE1], ["ops", NODE2]] as const) {
      const d = driver({ user, hosts: [host] });
      const marker = `/tmp/timeout-${user}`;
      const response = await d.call({ op: "exec", host: host.name, command: `sh -c 'sleep 40; touch ${marker}' & sleep 41`, timeoutMs: 1000 });
      expect(response.ok).toBe(false);
      if (response.ok) continue;
      expect(response.error).toMatchObject({ name: "CommandTimeoutError", kind: "timeout", retryable: true, host: host.name });
      expect(response.error.message).toBe(`${host.name}: command timed out after 1s: sh -c 'sleep 40; touch ${marker}' & sleep 41`);
      expect(response.ms).toBeLessThan(20_000); // at the timeout, not after the command's 41 s
      let left = "";
      for (let i = 0; i < 50; i++) {
        left = (await lab.exec(host.name, ["pgrep", "-a", "sleep"])).stdout;
        if (left === "") break;
        await Bun.sleep(100);
      }
      expect(left).toBe("");
      // The connection is still good for the next command.
      expect((await d.value<ExecResult>({ op: "exec", host: host.name, command: "echo ok" })).stdout).toBe("ok\n");
    }
  }, 90_000);

  test("a host that accepts TCP but never speaks SSH times out the connect, retried until the deadline", async () => {
    const silent = Bun.spawn([...lab.controlExec, process.execPath, "-e", "Bun.listen({hostname:'127.0.0.1',port:2299,socket:{data(){}}}); setInterval(()=>{},1e6)"], { stdout: "ignore", stderr: "inherit" });
    try {
      await Bun.sleep(500);
      const d = driver({ hosts: [{ name: "mute", address: "127.0.0.1", port: 2299, hostKey: pinned("mute") }], connectTimeoutMs: 400, connectRetry: { deadlineMs: 1500, initialDelayMs: 200, maxDelayMs: 400 } });
      const response = await d.call({ op: "exec", host: "mute", command: "hostname" });
      expect(response.ok).toBe(false);
      if (response.ok) return;
      expect(response.error).toMatchObject({ kind: "connect", retryable: true, host: "mute" });
      expect(response.error.message).toMatch(/^mute: no SSH login within 0\.4s \(connect, handshake and authentication\) \(gave up after [3-9] attempts in /);
    } finally {
      silent.kill();
      await silent.exited;
    }
  });
});

describe("a silent network", () => {
  test("keep-alive notices a peer that stopped answering; the command in flight fails as retryable, the next one reconnects", async () => {
    const d = driver({ hosts: [NODE1], keepaliveIntervalMs: 300, connectRetry: { deadlineMs: 30_000, initialDelayMs: 200, maxDelayMs: 500 } });
    expect((await d.value<ExecResult>({ op: "exec", host: "node1", command: "hostname" })).stdout).toBe("node1\n");
    const inFlight = d.call({ op: "exec", host: "node1", command: "sleep 60" });
    await Bun.sleep(200);
    // The host's NIC goes down: no FIN, no RST, the connection just goes quiet.
    await onHost("node1", "ip link set ens18 down");
    const dropped = await inFlight;
    await onHost("node1", "ip link set ens18 up");
    expect(dropped.ok).toBe(false);
    if (!dropped.ok) expect(dropped.error).toMatchObject({ kind: "connection-lost", retryable: true, host: "node1" });
    expect(dropped.ms).toBeLessThan(30_000); // keep-alive (3 × 0.3 s), not TCP's minutes of retransmission
    expect((await d.value<ExecResult>({ op: "exec", host: "node1", command: "hostname" })).stdout).toBe("node1\n");
    expect(await d.value({ op: "connections" })).toEqual({ node1: 2 });

    // A command issued while the connection is quiet: its channel never opens, so it did not run
    // and is sent again on a new connection once the host answers.
    await onHost("node1", "ip link set ens18 down");
    const issued = d.call({ op: "exec", host: "node1", command: "echo once >> /root/issued; hostname" });
    await Bun.sleep(2000);
    await onHost("node1", "ip link set ens18 up");
    const result = await issued;
    expect(result).toMatchObject({ ok: true, value: { code: 0, stdout: "node1\n" } });
    expect(await onHost("node1", "cat /root/issued")).toBe("once\n");
    expect(await d.value({ op: "connections" })).toEqual({ node1: 3 });
  }, 60_000);
});

describe("reboot", () => {
  test("a command in flight fails as retryable naming the host; the next one reconnects with backoff", async () => {
    const d = driver({ hosts: [NODE1], connectRetry: { deadlineMs: 90_000, initialDelayMs: 200, maxDelayMs: 1000 }, keepaliveIntervalMs: 1000 });
    const bootBefore = (await d.value<ExecResult>({ op: "exec", host: "node1", command: "cat /proc/sys/kernel/random/boot_id" })).stdout;
    const inFlight = d.call({ op: "exec", host: "node1", command: "sleep 120" });
    await Bun.sleep(300);
    await lab.exec("node1", ["systemctl", "reboot"]);
    const dropped = await inFlight;
    expect(dropped.ok).toBe(false);
    if (!dropped.ok) expect(dropped.error).toMatchObject({ kind: "connection-lost", retryable: true, host: "node1" });
    const after = await d.value<ExecResult>({ op: "exec", host: "node1", command: "cat /proc/sys/kernel/random/boot_id" });
    expect(after.stdout).not.toBe(bootBefore);
    expect(lab.boots("node1")).toBe(2);
    expect(await d.value({ op: "connections" })).toEqual({ node1: 2 });
  }, 120_000);
});
