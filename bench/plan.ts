// Start-up and offline-plan cost of the compiled binary, against baselines measured in the
// same run. Run with `npm run bench` after `npm run build`. Prints a table; asserts nothing.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

const root = join(import.meta.dir, "..");
const binary = join(root, "starbase");
const RUNS = Number(process.env.BENCH_RUNS ?? 21);
const STARTUP_TARGET_MS = 50;
const PLAN_300_TARGET_MS = 150;

interface Sample {
  ms: number;
  rssMb: number;
}

// Peak RSS comes from GNU time: Bun spawns with vfork, so the rusage Bun reports for a child
// includes the parent's own pages from before exec. Every command, baselines included, runs
// under the same /usr/bin/time, so its cost is in all rows alike.
function measure(cmd: string[], expectedExit: number): Sample {
  const started = performance.now();
  const proc = Bun.spawnSync(["/usr/bin/time", "-f", "maxrss=%M", "--", ...cmd], { stdout: "ignore", stderr: "pipe" });
  const ms = performance.now() - started;
  const stderr = proc.stderr.toString();
  if (proc.exitCode !== expectedExit) {
    throw new Error(`${cmd.join(" ")} exited ${proc.exitCode}, expected ${expectedExit}:\n${stderr}`);
  }
  const rssKb = Number(/maxrss=(\d+)\s*$/.exec(stderr)?.[1]);
  return { ms, rssMb: rssKb / 1024 };
}

/** Median time and the largest peak RSS of `runs` runs, after one unmeasured warm-up run. */
function bench(cmd: string[], expectedExit = 0, runs = RUNS): Sample {
  measure(cmd, expectedExit);
  const samples = Array.from({ length: runs }, () => measure(cmd, expectedExit));
  const times = samples.map((s) => s.ms).sort((a, b) => a - b);
  return { ms: times[Math.floor(times.length / 2)]!, rssMb: Math.max(...samples.map((s) => s.rssMb)) };
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
  const rows: { what: string; sample: Sample; baseline: string; ratio: number; target?: string }[] = [];
  const trueRun = bench(["true"]);
  const bunRun = bench([process.execPath, "-e", "0"]);
  rows.push({ what: "true (baseline)", sample: trueRun, baseline: "", ratio: 1 });
  rows.push({ what: "bun -e 0 (baseline)", sample: bunRun, baseline: "", ratio: 1 });

  const version = bench([binary, "--version"]);
  const startupMet = version.ms < STARTUP_TARGET_MS;
  rows.push({
    what: "starbase --version",
    sample: version,
    baseline: "bun -e 0",
    ratio: version.ms / bunRun.ms,
    target: `< ${STARTUP_TARGET_MS} ms: ${startupMet ? "met" : "NOT met"}`,
  });

  for (const hosts of [3, 30, 300]) {
    const file = join(dir, `cluster-${hosts}.yaml`);
    writeFileSync(file, stringify(clusterSpec(hosts)));
    measure([binary, "validate", file], 0); // fails loudly when the generated spec is not valid
    // plan --offline exits 2: changes pending.
    const planRun = bench([binary, "plan", file, "--offline"], 2);
    const met = planRun.ms < PLAN_300_TARGET_MS;
    rows.push({
      what: `starbase plan --offline, ${hosts} hosts`,
      sample: planRun,
      baseline: "starbase --version",
      ratio: planRun.ms / version.ms,
      ...(hosts === 300 && { target: `< ${PLAN_300_TARGET_MS} ms: ${met ? "met" : "NOT met"}` }),
    });
  }

  const header = ["what", "median ms", "peak RSS MB", "ratio", "vs", "target"];
  const cells = rows.map((r) => [
    r.what,
    r.sample.ms.toFixed(1),
    r.sample.rssMb.toFixed(1),
    r.baseline ? `${r.ratio.toFixed(1)}x` : "",
    r.baseline,
    r.target ?? "",
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((cell, c) => cell.padEnd(widths[c]!)).join("  ").trimEnd();
  console.log(`${RUNS} runs each (median), after one warm-up; binary ${binary}`);
  console.log(line(header));
  for (const row of cells) console.log(line(row));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
