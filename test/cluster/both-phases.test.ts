// `starbase apply FILE` without --phase, end to end: the Proxmox emulator makes the VMs and the
// lab's hosts are the VMs' guests, so one run goes from an empty Proxmox to a cluster whose
// kubeconfig works with real kubectl through the VIP. examples/minimal.yaml, moved into
// 198.18.68.0/24, with the emulator as its Proxmox (node "pve") and the RKE2 release pinned.
//
// The emulator runs in this process, on 127.0.0.1 of the machine's own network namespace;
// starbase runs in the lab's control namespace (no default route), whose loopback is its own.
// Two socat processes join them through a Unix socket in the scratch directory: the client
// dials 127.0.0.1:<the emulator's port> in the control namespace, as the spec says. Nothing
// leaves loopback. The lab hosts boot before the run (the lab cannot boot a guest when the
// emulator starts its VM); the run still has to make and start every VM before it may configure
// its host (boot:<host> needs vm:<host>), which the events show.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { DEFAULT_TOKEN } from "../emulator/options.ts";
import { type Emulator, startEmulator } from "../emulator/server.ts";
import { IMAGE, IMAGE_URL, mutating, schemaViolations } from "../infra/harness.ts";
import { useClusterLab } from "./harness.ts";

const RELEASE = "v1.33.5+rke2r1";
const NET = "198.18.68";
const VIP = `${NET}.10`;
const HOSTS = ["lb01", "server01"];

let emu: Emulator | undefined;
const forwarders: { pid: number; exited: Promise<number> }[] = [];

function emulator(): Emulator {
  if (emu === undefined) throw new Error("the emulator is not running");
  return emu;
}

// Runs before useClusterLab's beforeAll (registered first): the spec names the emulator's port.
beforeAll(async () => {
  emu = await startEmulator({ nodes: ["pve"], taskMs: 0, lockScale: 0.01, authFailureDelayMs: 0, notice: () => {}, published: { [IMAGE_URL]: IMAGE } });
});

const cluster = useClusterLab("cluster-both", "examples/minimal.yaml", {
  labNetwork: NET,
  edit: (doc) => {
    const e = emulator();
    doc.setIn(["proxmox", "endpoint"], e.url);
    doc.setIn(["proxmox", "tokenId"], DEFAULT_TOKEN.id);
    doc.setIn(["proxmox", "tls"], doc.createNode({ fingerprint: e.fingerprint }));
    doc.setIn(["image"], doc.createNode({ url: IMAGE_URL, checksum: IMAGE.sha256 }));
    doc.setIn(["rke2", "version"], RELEASE);
  },
});

afterAll(async () => {
  for (const forwarder of forwarders) {
    try {
      process.kill(forwarder.pid, "SIGTERM");
    } catch {
      // already gone
    }
    await forwarder.exited;
  }
  if (emu !== undefined) {
    await emu.idle();
    await emu.stop();
    const problems = schemaViolations(emu.requestLog);
    if (problems.length > 0) throw new Error(`requests outside the PVE API schema:\n${problems.join("\n")}`);
  }
});

/** The emulator's port on the control namespace's loopback, through a Unix socket in the scratch directory. */
beforeAll(async () => {
  const c = cluster();
  const port = new URL(emulator().url).port;
  const socket = join(c.scratch, "pve.sock");
  const spawn = (argv: string[]) => {
    const child = Bun.spawn(argv, { stdin: "ignore", stdout: "ignore", stderr: "inherit" });
    forwarders.push({ pid: child.pid, exited: child.exited });
  };
  spawn(["socat", `UNIX-LISTEN:${socket},fork,mode=600`, `TCP:127.0.0.1:${port}`]);
  spawn([...c.lab.controlExec, "socat", `TCP-LISTEN:${port},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${socket}`]);
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = await c.control(["bash", "-c", `exec 3<>/dev/tcp/127.0.0.1/${port} && echo reached`]);
    if (probe.stdout.includes("reached")) break;
    if (Date.now() > deadline) throw new Error(`the emulator is not reachable from the control namespace: ${probe.stderr}`);
    await Bun.sleep(100);
  }
}, 30_000);

const env = () => ({ PVE_TOKEN_SECRET: DEFAULT_TOKEN.secret });

/** The engine's events of a JSON run, in order. */
function events(stdout: string): { type: string; id?: string; [key: string]: unknown }[] {
  return stdout.trim().split("\n").filter(Boolean).map((line) => JSON.parse(line));
}

describe("apply FILE: both phases as one run (emulator + lab)", () => {
  test("from an empty Proxmox to a cluster: every VM made and started before its host is configured; kubectl through the VIP lists the node Ready", async () => {
    const c = cluster();
    expect(emulator().state.vms.size).toBe(0);
    const started = Date.now();
    const apply = await c.starbase(["apply", c.file, "--yes", "--output", "json"], { env: env(), timeoutMs: 900_000 });
    console.log(`apply of both phases: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (apply.code !== 0) console.log(apply.stdout, apply.stderr);
    expect(apply.code).toBe(0);
    const seen = events(apply.stdout);
    const at = (type: string, id: string) => seen.findIndex((e) => e.type === type && e.id === id);
    for (const host of HOSTS) {
      expect({ host, vmEnded: at("step-end", `vm:${host}`) >= 0 }).toEqual({ host, vmEnded: true });
      expect({ host, bootAfterVm: at("step-start", `boot:${host}`) > at("step-end", `vm:${host}`) }).toEqual({ host, bootAfterVm: true });
    }
    const result = seen.at(-1)!;
    expect(result).toMatchObject({ type: "apply", phase: "all", ok: true });
    // The emulator holds one running VM per host, named after it, booting the seed ISO starbase uploaded to its node.
    const volumes = new Set(emulator().state.volumes.map((v) => `${v.node} ${v.volid}`));
    const vms = [...emulator().state.vms.values()].map((vm) => {
      const seed = /^([^,]+),media=cdrom(,|$)/.exec(vm.config.ide2 ?? "")?.[1];
      return { name: vm.config.name, running: vm.running, seedOnNode: seed !== undefined && volumes.has(`${vm.node} ${seed}`) };
    });
    expect(vms.sort((a, b) => String(a.name).localeCompare(String(b.name)))).toEqual([
      { name: "lb01", running: true, seedOnNode: true },
      { name: "server01", running: true, seedOnNode: true },
    ]);
    expect((await c.lab.exec("server01", ["systemctl", "is-active", "rke2-server"])).stdout.trim()).toBe("active");
    const kubeconfig = join(c.scratch, "mini.kubeconfig");
    const nodes = await c.control(["kubectl", "--kubeconfig", kubeconfig, "get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}"]);
    expect(nodes.stderr).toBe("");
    expect(nodes.stdout.trim()).toBe("server01=True");
    const server = await c.control(["kubectl", "--kubeconfig", kubeconfig, "config", "view", "-o", "jsonpath={.clusters[0].cluster.server}"]);
    expect(server.stdout).toBe(`https://${VIP}:6443`);
  }, 900_000);

  test("a second apply of both phases: no change, no request that changes Proxmox", async () => {
    const c = cluster();
    const before = emulator().requestLog.length;
    const again = await c.starbase(["apply", c.file, "--yes"], { env: env(), timeoutMs: 300_000 });
    if (again.code !== 0) console.log(again.stdout, again.stderr);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^No changes: mini matches the spec/);
    expect(mutating(emulator().requestLog.slice(before)).map((e) => `${e.method} ${e.path}`)).toEqual([]);
  }, 300_000);
});
