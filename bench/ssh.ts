// A no-op convergence check on N lab hosts (default 20): three files compared by hash, mode and
// owner, and one service checked (active, enabled), done three ways in the same run on the same
// hosts, every client in the lab's control namespace:
//   - starbase's own observe path (bench/ssh-check.ts starbase: SshPool + the MicroOS facts script,
//     one batched read per host);
//   - ansible-core from Debian: a playbook of three `copy` tasks (inline content, mode 0600: the
//     checksum comparison) and one `systemd` task (started, enabled), with ControlPersist (cold:
//     fresh control sockets; warm: the masters of the previous run) and without multiplexing;
//   - a bare Bun + ssh2 script (bench/ssh-check.ts bare): one connection, one command per host,
//     the floor.
// SSH connections per host are counted from each host's own sshd log. ansible-core is
// installed here (apt, as root) when it is missing; the test suite never installs it.
// Run as root: bun bench/ssh.ts [HOSTS] [ROUNDS]. Prints a table; asserts nothing.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { type Lab, labUp } from "../test/lab/lab.ts";
import type { CheckJob, CheckResult } from "./ssh-check.ts";

const HOSTS = Number(process.argv[2] ?? 20);
const ROUNDS = Number(process.argv[3] ?? 3);
const NET = "198.18.72";
const UNIT = "ssh.service";
const DIR = "/etc/sbbench";

/** Three files of the sizes a load balancer and a server get (keepalived.conf, haproxy.cfg, a YAML config). */
const FILES = [
  { path: `${DIR}/keepalived.conf`, mode: 0o600, content: `global_defs {\n  router_id bench\n  enable_script_security\n  script_user root\n}\nvrrp_script chk_haproxy {\n  script "/usr/bin/killall -0 haproxy"\n  interval 2\n  weight 2\n}\nvrrp_instance VI_1 {\n  state MASTER\n  interface ens18\n  virtual_router_id 51\n  priority 101\n  advert_int 1\n  authentication {\n    auth_type PASS\n    auth_pass benchpw\n  }\n  virtual_ipaddress {\n    ${NET}.10/24\n  }\n  track_script {\n    chk_haproxy\n  }\n}\n` },
  { path: `${DIR}/haproxy.cfg`, mode: 0o600, content: `global\n  log /dev/log local0\n  maxconn 4000\n  user haproxy\n  group haproxy\ndefaults\n  mode tcp\n  timeout connect 5s\n  timeout client 1h\n  timeout server 1h\nfrontend api\n  bind :6443\n  default_backend api\nbackend api\n  option httpchk GET /readyz\n  http-check expect status 200\n  server s1 ${NET}.21:6443 check check-ssl verify none\n  server s2 ${NET}.22:6443 check check-ssl verify none\n  server s3 ${NET}.23:6443 check check-ssl verify none\nfrontend join\n  bind :9345\n  default_backend join\nbackend join\n  server s1 ${NET}.21:9345 check\n  server s2 ${NET}.22:9345 check\n  server s3 ${NET}.23:9345 check\n` },
  { path: `${DIR}/config.yaml`, mode: 0o600, content: `node-name: bench\nnode-ip: ${NET}.21\ntls-san:\n  - ${NET}.10\nwrite-kubeconfig-mode: "0600"\ncni: canal\nprofile: cis\nselinux: true\nnode-taint:\n  - CriticalAddonsOnly=true:NoExecute\nkube-apiserver-arg:\n  - audit-log-maxage=30\n` },
];

interface Timed {
  ms: number;
  /** New sshd logins per host during the run (from the hosts' journals). */
  connectionsPerHost: number;
  ok: boolean;
  note: string;
}

function sh(argv: string[], env?: Record<string, string>): { code: number; stdout: string; stderr: string } {
  const r = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", ...(env && { env: { ...process.env, ...env } }) });
  return { code: r.exitCode, stdout: r.stdout.toString(), stderr: r.stderr.toString() };
}

function ensureAnsible(): string {
  const existing = Bun.which("ansible-playbook");
  if (existing !== null) return existing;
  console.log("installing ansible-core from Debian (apt-get, as root) …");
  const install = sh(["apt-get", "install", "-y", "--no-install-recommends", "ansible-core"], { DEBIAN_FRONTEND: "noninteractive" });
  if (install.code !== 0) throw new Error(`apt-get install ansible-core failed: ${install.stderr.trim()}`);
  const installed = Bun.which("ansible-playbook");
  if (installed === null) throw new Error("ansible-playbook is still missing after apt-get install ansible-core");
  return installed;
}

async function logins(lab: Lab, hosts: string[]): Promise<number[]> {
  return Promise.all(hosts.map(async (h) => {
    const r = await lab.exec(h, ["sh", "-c", "journalctl -u ssh --no-pager -o cat | grep -c 'Accepted publickey' || true"]);
    return Number(r.stdout.trim());
  }));
}

async function measured(lab: Lab, hosts: string[], run: () => { ok: boolean; note: string }): Promise<Timed> {
  const before = await logins(lab, hosts);
  const started = performance.now();
  const { ok, note } = run();
  const ms = performance.now() - started;
  const after = await logins(lab, hosts);
  const perHost = after.map((n, i) => n - before[i]!);
  return { ms, ok, note, connectionsPerHost: perHost.reduce((a, b) => a + b, 0) / hosts.length };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error("run as root: the lab needs network namespaces and systemd-nspawn");
  const ansible = ensureAnsible();
  const scratch = mkdtempSync(join(tmpdir(), "sb-bench-ssh-"));
  let lab: Lab | undefined;
  try {
    const key = join(scratch, "id_ed25519");
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", key]);
    const publicKey = (await Bun.file(`${key}.pub`).text()).trim();
    const names = Array.from({ length: HOSTS }, (_, i) => `h${String(i + 1).padStart(2, "0")}`);
    const ips = names.map((_, i) => `${NET}.${i + 11}`);
    console.log(`bringing up ${HOSTS} lab hosts …`);
    const upStarted = performance.now();
    lab = await labUp(join(scratch, "lab"), {
      networks: [{ name: "bench", cidr: `${NET}.0/24` }],
      hosts: names.map((name, i) => ({ name, nics: [{ network: "bench", ip: ips[i]! }], login: [{ name: "root", authorizedKeys: [publicKey] }], defaultRoute: null })),
      control: [{ network: "bench" }],
      // 20 first boots of cloud-init at once on a shared 2-core machine.
      readyTimeoutMs: 600_000,
    });
    console.log(`lab up in ${((performance.now() - upStarted) / 1000).toFixed(1)} s`);
    const up = lab;
    // Converge once (the state every no-op run below checks).
    await Promise.all(names.map((h) => up.exec(h, ["sh", "-c", `mkdir -p ${DIR} && chmod 700 ${DIR}`])));
    for (const file of FILES) {
      await Promise.all(names.map((h) => up.exec(h, ["sh", "-c", `cat > ${file.path} && chmod ${file.mode.toString(8)} ${file.path}`], { stdin: file.content })));
    }

    const job: CheckJob = { hosts: names.map((name, i) => ({ name, ip: ips[i]! })), keyFile: key, knownHosts: lab.knownHosts, files: FILES, unit: UNIT };
    const jobFile = join(scratch, "job.json");
    writeFileSync(jobFile, JSON.stringify(job));
    const bunCheck = (mode: "starbase" | "bare") => (): { ok: boolean; note: string } => {
      const r = sh([...up.controlExec, process.execPath, join(import.meta.dir, "ssh-check.ts"), mode, jobFile]);
      if (r.code !== 0) return { ok: false, note: r.stderr.trim().split("\n").slice(-3).join(" ") };
      const result = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as CheckResult;
      const conns = result.connections === undefined ? "" : `, pool opened ${Math.max(...Object.values(result.connections))} per host`;
      return { ok: result.converged === HOSTS, note: `${result.converged}/${HOSTS} converged, check ${result.ms.toFixed(0)} ms in process${conns}` };
    };

    // The playbook: the same three files inline, the same service.
    const ans = join(scratch, "ansible");
    mkdirSync(join(ans, "cp"), { recursive: true });
    writeFileSync(join(ans, "converge.yml"), stringify([{
      hosts: "all",
      gather_facts: false,
      tasks: [
        ...FILES.map((f) => ({ name: `copy ${f.path}`, "ansible.builtin.copy": { dest: f.path, content: f.content, mode: `0${f.mode.toString(8)}`, owner: "root", group: "root" } })),
        { name: UNIT, "ansible.builtin.systemd": { name: UNIT, state: "started", enabled: true } },
      ],
    }]));
    writeFileSync(join(ans, "inventory.ini"), [
      "[all]",
      ...names.map((n, i) => `${n} ansible_host=${ips[i]}`),
      "[all:vars]",
      "ansible_user=root",
      `ansible_ssh_private_key_file=${key}`,
      `ansible_ssh_common_args='-o UserKnownHostsFile=${lab.knownHosts} -o GlobalKnownHostsFile=/dev/null -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes'`,
      "",
    ].join("\n"));
    writeFileSync(join(ans, "ansible.cfg"), [
      "[defaults]",
      `forks = ${HOSTS}`,
      "gathering = explicit",
      "host_key_checking = True",
      "interpreter_python = /usr/bin/python3",
      `inventory = ${join(ans, "inventory.ini")}`,
      `local_tmp = ${join(ans, "tmp")}`,
      "[ssh_connection]",
      "pipelining = True",
      `control_path_dir = ${join(ans, "cp")}`,
      "",
    ].join("\n"));
    const playbook = (sshArgs: string) => (): { ok: boolean; note: string } => {
      const r = sh([...up.controlExec, ansible, join(ans, "converge.yml")], { ANSIBLE_CONFIG: join(ans, "ansible.cfg"), ANSIBLE_SSH_ARGS: sshArgs, HOME: ans });
      const recap = r.stdout.split("\n").filter((l) => /ok=\d+ +changed=\d+/.test(l));
      const noop = recap.length === HOSTS && recap.every((l) => /ok=4 +changed=0 +unreachable=0 +failed=0/.test(l));
      return { ok: r.code === 0 && noop, note: noop ? `${HOSTS}/${HOSTS} ok=4 changed=0` : `exit ${r.code}: ${(recap[0] ?? r.stdout.trim().split("\n").slice(-3).join(" ")).trim()}` };
    };
    const closeMasters = () => {
      for (const ip of ips) sh([...up.controlExec, "ssh", "-o", `ControlPath=${join(ans, "cp")}/%C`, "-O", "exit", `root@${ip}`]);
      rmSync(join(ans, "cp"), { recursive: true, force: true });
      mkdirSync(join(ans, "cp"));
    };

    // Warm-up (not counted): bun's first start, ansible's first run (it repairs nothing: converged above).
    bunCheck("starbase")();
    const first = playbook("-C -o ControlMaster=no")();
    if (!first.ok) throw new Error(`ansible's first run is not a no-op: ${first.note}`);

    const variants: Record<string, Timed[]> = { starbase: [], bare: [], "ansible ControlPersist cold": [], "ansible ControlPersist warm": [], "ansible no multiplexing": [] };
    for (let round = 1; round <= ROUNDS; round++) {
      variants.starbase!.push(await measured(up, names, bunCheck("starbase")));
      variants.bare!.push(await measured(up, names, bunCheck("bare")));
      closeMasters();
      variants["ansible ControlPersist cold"]!.push(await measured(up, names, playbook("-C -o ControlMaster=auto -o ControlPersist=60s")));
      variants["ansible ControlPersist warm"]!.push(await measured(up, names, playbook("-C -o ControlMaster=auto -o ControlPersist=60s")));
      closeMasters();
      variants["ansible no multiplexing"]!.push(await measured(up, names, playbook("-C -o ControlMaster=no")));
      console.log(`round ${round}/${ROUNDS} done`);
    }

    const med = (name: string) => median(variants[name]!.map((t) => t.ms));
    console.log(`\nNo-op convergence check, ${HOSTS} lab hosts (3 files by hash/mode/owner + 1 service), median of ${ROUNDS} rounds (process wall time, bun start included)\n`);
    console.log(`${"variant".padEnd(30)} ${"median s".padStart(9)} ${"conns/host".padStart(11)}  last run`);
    for (const [name, runs] of Object.entries(variants)) {
      const last = runs.at(-1)!;
      console.log(`${name.padEnd(30)} ${(med(name) / 1000).toFixed(2).padStart(9)} ${last.connectionsPerHost.toFixed(1).padStart(11)}  ${runs.every((r) => r.ok) ? "" : "NOT A NO-OP: "}${last.note}`);
    }
    const sb = med("starbase");
    console.log(`\nansible ControlPersist (warm) / starbase: ${(med("ansible ControlPersist warm") / sb).toFixed(1)}x (target >= 20x)`);
    console.log(`ansible ControlPersist (cold) / starbase: ${(med("ansible ControlPersist cold") / sb).toFixed(1)}x`);
    console.log(`ansible no multiplexing / starbase:       ${(med("ansible no multiplexing") / sb).toFixed(1)}x`);
    console.log(`starbase / bare ssh2 script:              ${(sb / med("bare")).toFixed(2)}x (target <= 1.5x)`);
    console.log(`starbase SSH connections per host:        ${variants.starbase!.at(-1)!.connectionsPerHost.toFixed(1)} (target 1)`);
  } finally {
    await lab?.down();
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
