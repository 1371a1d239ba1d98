// Start-up and offline-plan cost of the compiled binary, against baselines measured in the
// same run. Run with `npm run bench` after `npm run build`. Prints a table and the ratios the
// targets are set in; asserts nothing. The commands take turns (one run of each, RUNS times),
// so that a change in the machine's load falls on all of them alike.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

const root = join(import.meta.dir, "..");
const binary = process.env.BENCH_BINARY ?? join(root, "starbase");
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const example = join(root, "examples", "minimal.yaml");
const VERSION = "starbase --version";
const VALIDATE = "starbase validate examples/minimal.yaml";

interface Sample {
  ms: number;
  rssMb: number;
}

// Peak RSS comes from GNU time: Bun spawns with vfork, so the rusage Bun reports for a child
// includes the parent's own pages from before exec. Every command, baselines included, runs
// under the same /usr/bin/time, so its cost is in all rows alike.
/** One run of cmd, which must exit 0 (plan --offline does for a valid spec). */
function measure(cmd: string[]): Sample {
  const started = performance.now();
  const proc = Bun.spawnSync(["/usr/bin/time", "-f", "maxrss=%M", "--", ...cmd], { stdout: "ignore", stderr: "pipe" });
  const ms = performance.now() - started;
  const stderr = proc.stderr.toString();
  if (proc.exitCode !== 0) {
    throw new Error(`${cmd.join(" ")} exited ${proc.exitCode}, expected 0:\n${stderr}`);
  }
  const rssKb = Number(/maxrss=(\d+)\s*$/.exec(stderr)?.[1]);
  return { ms, rssMb: rssKb / 1024 };
}

interface Command {
  what: string;
  cmd: string[];
}

/**
 * Median time and the largest peak RSS of each command over `runs` rounds, after one unmeasured
 * warm-up round; every round runs each command once.
 */
function benchAll(commands: Command[], runs = RUNS): Map<string, Sample> {
  for (const { cmd } of commands) measure(cmd);
  const samples = new Map<string, Sample[]>(commands.map(({ what }) => [what, []]));
  for (let round = 0; round < runs; round++) {
    for (const { what, cmd } of commands) samples.get(what)!.push(measure(cmd));
  }
  return new Map(
    [...samples].map(([what, runs]) => {
      const times = runs.map((s) => s.ms).sort((a, b) => a - b);
      return [what, { ms: times[Math.floor(times.length / 2)]!, rssMb: Math.max(...runs.map((s) => s.rssMb)) }];
    }),
  );
}

/** A valid cluster.yaml with `total` hosts: 1 LB, 1 server, 1 agent for 3; else 2 LBs, 5 servers, agents. */
function clusterSpec(total: number): object {
  const [lbs, servers] = total <= 3 ? [1, 1] : [2, 5];
  const agents = total - lbs - servers;
  const vm = (vmidStart: number) => ({ cores: 2, memory: 4096, disk: 40, vmidStart });
  return {
    name: `bench${total}`,
    proxmox: {
      endpoint: "https://pve1.lan:8006",
      tokenId: "root@pam!starbase",
      tokenSecret: { env: "PVE_TOKEN_SECRET" },
      tls: { fingerprint: Array.from({ length: 32 }, () => "AB").join(":") },
      nodes: ["node01", "node02", "node03"],
      storage: { image: "local", disk: "local-lvm", cloudInit: "local" },
    },
    image: { url: "https://download.opensuse.org/tumbleweed/appliances/openSUSE-MicroOS.x86_64-OpenStack-Cloud.qcow2" },
    ssh: {
      user: "root",
      authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPayB34XPeHgWcfb1q+CuUdm808lhIez/Lc7L7jME3Zg bench"],
      hostKeySecret: { env: "STARBASE_HOSTKEY_SECRET" },
    },
    network: { bridge: "vmbr0", cidr: "10.20.0.0/16", gateway: "10.20.0.1", dns: ["10.20.0.1"], searchDomains: ["lan"] },
    nodes: {
      loadBalancers: { vm: vm(200), count: lbs, ipStart: "10.20.1.1" },
      servers: { vm: vm(300), count: servers, ipStart: "10.20.2.1" },
      agents: { vm: vm(1000), count: agents, ipStart: "10.20.3.1" },
    },
    loadBalancer: { vip: "10.20.0.10", vrrp: { mode: "multicast", routerId: 51 } },
    rke2: { channel: "stable", cni: "canal", selinux: true },
    updates: { rebootSlots: [17, 18], minuteOffsets: [0, 15, 30, 45], windowDuration: "15m" },
    kured: { enabled: true, startTime: "18:00", endTime: "23:00", timeZone: "UTC" },
  };
}

if (!existsSync(binary)) {
  console.error(`${binary} is missing: run \`npm run build\` first`);
  process.exit(1);
}
const dir = mkdtempSync(join(tmpdir(), "starbase-bench-"));
try {
  const plan = (hosts: number) => `starbase plan --offline, ${hosts} hosts`;
  const commands: Command[] = [
    { what: "true", cmd: ["true"] },
    { what: "bun -e 0", cmd: [process.execPath, "-e", "0"] },
    { what: VERSION, cmd: [binary, "--version"] },
    { what: VALIDATE, cmd: [binary, "validate", example] },
  ];
  for (const hosts of [3, 30, 300]) {
    const file = join(dir, `cluster-${hosts}.yaml`);
    writeFileSync(file, stringify(clusterSpec(hosts)));
    measure([binary, "validate", file]); // fails loudly when the generated spec is not valid
    commands.push({ what: plan(hosts), cmd: [binary, "plan", file, "--offline"] });
  }
  const results = benchAll(commands);
  const ms = (what: string) => results.get(what)!.ms;

  const header = ["what", "median ms", "peak RSS MB"];
  const cells = commands.map(({ what }) => [what, ms(what).toFixed(1), results.get(what)!.rssMb.toFixed(1)]);
  const ratios = [
    { what: "validate example / --version", ratio: ms(VALIDATE) / ms(VERSION), target: 3 },
    { what: "plan 300 hosts / --version", ratio: ms(plan(300)) / ms(VERSION), target: 4 },
    { what: "plan 300 hosts / plan 30 hosts", ratio: ms(plan(300)) / ms(plan(30)), target: 1.5 },
  ];
  const table = (head: string[], rows: string[][]) => {
    const widths = head.map((h, c) => Math.max(h.length, ...rows.map((row) => row[c]!.length)));
    const line = (row: string[]) => row.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd();
    for (const row of [head, ...rows]) console.log(line(row));
  };
  console.log(`${RUNS} rounds (median), after one warm-up round; binary ${binary}`);
  table(header, cells);
  console.log("");
  table(
    ["ratio", "measured", "target", ""],
    ratios.map((r) => [r.what, `${r.ratio.toFixed(2)}x`, `<= ${r.target}x`, r.ratio <= r.target ? "met" : "NOT met"]),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
