// The cluster lock: a Proxmox pool created atomically, naming its holder, with heartbeat,
// takeover of abandoned locks and --force-unlock.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { ProxmoxClient } from "../../src/proxmox/index.ts";
import { type AcquireOptions, type LockHolder, LockHeldError } from "../../src/steps/lock.ts";
import { poolLock } from "../../src/steps/infra/pool-lock.ts";
import { lockPoolId } from "../../src/steps/infra/lock-pool.ts";
import { ApiClient } from "../emulator/client.ts";
import { DEFAULT_TOKEN } from "../emulator/options.ts";
import { applyInfra, type Lab, spawnStarbase, startLab } from "./harness.ts";

const POOL = lockPoolId("homelab");
const USER = "lock-tester";

/** The pool lock of cluster homelab, taken in this process by USER for `command`. */
function acquireLock(client: ProxmoxClient, cluster: string, opts: Omit<AcquireOptions, "claimant"> & { command: string }) {
  const { command, ...rest } = opts;
  return poolLock(client, cluster).acquire({ claimant: { user: USER, host: hostname(), pid: process.pid, command }, ...rest });
}
const HOLDER = `${POOL}/run`;

describe("lock (in process)", () => {
  let lab: Lab;
  let client: ProxmoxClient;
  beforeAll(async () => {
    lab = await startLab();
    client = new ProxmoxClient({ endpoint: lab.emu.url, tokenId: DEFAULT_TOKEN.id, tokenSecret: DEFAULT_TOKEN.secret, tls: { fingerprint: lab.emu.fingerprint } });
  });
  afterAll(async () => {
    await client.close();
    await lab.stop();
  });

  const pools = async () => (await client.get<{ poolid: string; comment?: string }[]>("/pools")).filter((p) => p.poolid.startsWith(POOL));
  const holderInPool = async (): Promise<LockHolder | undefined> => {
    const comment = (await pools()).find((p) => p.poolid === HOLDER)?.comment;
    return comment === undefined ? undefined : (JSON.parse(comment) as LockHolder);
  };
  /** A lock as another run left it: the holder written into the sub-pool. */
  const planted = async (holder: Partial<LockHolder>) => {
    const stamp = new Date().toISOString();
    const full: LockHolder = { user: "ops", host: hostname(), pid: process.pid, command: "apply", since: stamp, heartbeat: stamp, run: "planted-run", ...holder };
    if (!(await pools()).some((p) => p.poolid === POOL)) await client.post("/pools", { poolid: POOL });
    await client.post("/pools", { poolid: HOLDER, comment: JSON.stringify(full) });
    return full;
  };
  const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

  test("the sub-pool names who runs; a second taker is refused with that name; release keeps the pool a grant is on", async () => {
    const first = await acquireLock(client, "homelab", { command: "apply (first)" });
    expect(await holderInPool()).toMatchObject({ user: USER, host: hostname(), pid: process.pid, command: "apply (first)" });
    const refused = acquireLock(client, "homelab", { command: "apply (second)" });
    await expect(refused).rejects.toBeInstanceOf(LockHeldError);
    await expect(refused).rejects.toThrow(
      new RegExp(`cluster homelab is locked by ${USER}@${hostname()} \\(pid ${process.pid}, apply \\(first\\)\\) since \\S+, last heartbeat \\d+ s ago: `
        + `pid ${process.pid} still runs on this machine`),
    );
    await first.release();
    expect(await pools()).toEqual([expect.objectContaining({ poolid: POOL })]);
    // The next run takes it at once, and so on: the pool itself stays.
    const second = await acquireLock(client, "homelab", { command: "apply (next)" });
    await second.release();
    expect((await pools()).map((p) => p.poolid)).toEqual([POOL]);
  });

  test("a lock without heartbeat for longer than the stale time is taken over; the old holder notices and its release leaves it alone", async () => {
    let lostTo: LockHolder | undefined;
    const lost = new Promise<void>((resolve) => {
      lostTo = undefined;
      void acquireLock(client, "homelab", { command: "old", heartbeatMs: 30, onLost: (h) => { lostTo = h; resolve(); } }).then((old) => {
        olds.push(old);
      });
    });
    const olds: { release(): Promise<void>; holder: LockHolder }[] = [];
    while (olds.length === 0) await Bun.sleep(10);
    const later = Date.now() + 16 * 60_000;
    const next = await acquireLock(client, "homelab", { command: "new", now: () => later });
    expect(next.tookOverFrom?.run).toBe(olds[0]!.holder.run);
    await lost;
    expect(lostTo?.run).toBe(next.holder.run);
    await olds[0]!.release();
    expect((await holderInPool())?.run).toBe(next.holder.run);
    await next.release();
    expect(await holderInPool()).toBeUndefined();
  });

  test("a lock left by a dead process on this machine is taken over at once", async () => {
    const dead = Bun.spawn(["true"]);
    await dead.exited;
    await planted({ pid: dead.pid, run: "killed-run" });
    const lock = await acquireLock(client, "homelab", { command: "apply" });
    expect(lock.tookOverFrom?.pid).toBe(dead.pid);
    await lock.release();
  });

  test("--force-unlock never takes the lock from a live run: not from a process that still runs here", async () => {
    const live = await acquireLock(client, "homelab", { command: "apply (live)" });
    const forced = acquireLock(client, "homelab", { command: "forced", force: true });
    await expect(forced).rejects.toBeInstanceOf(LockHeldError);
    await expect(forced).rejects.toThrow(`cluster homelab is locked by ${USER}@${hostname()} (pid ${process.pid}, apply (live))`);
    await expect(forced).rejects.toThrow(`pid ${process.pid} still runs on this machine`);
    expect((await holderInPool())?.run).toBe(live.holder.run);
    await live.release();
    // Nor when its heartbeat lags (a stopped process, a busy machine), as long as the process is there.
    const lagging = await planted({ pid: process.pid, heartbeat: minutesAgo(5) });
    await expect(acquireLock(client, "homelab", { command: "forced", force: true })).rejects.toThrow(`pid ${process.pid} still runs on this machine`);
    expect((await holderInPool())?.run).toBe(lagging.run);
    await client.delete("/pools", { poolid: HOLDER });
  });

  test("--force-unlock never takes the lock from a live run: not from another machine whose heartbeat is fresh", async () => {
    const alive = await planted({ host: "elsewhere.lan", pid: 4242, heartbeat: minutesAgo(0.5) });
    const forced = acquireLock(client, "homelab", { command: "forced", force: true });
    await expect(forced).rejects.toThrow(/cluster homelab is locked by ops@elsewhere\.lan \(pid 4242, apply\) since \S+, last heartbeat 3\d s ago: its heartbeat is recent, so that run lives/);
    expect((await holderInPool())?.run).toBe(alive.run);
    await client.delete("/pools", { poolid: HOLDER });
  });

  test("--force-unlock takes over a run on another machine that stopped beating; without it the run waits for the stale time", async () => {
    const silent = await planted({ host: "elsewhere.lan", pid: 4242, heartbeat: minutesAgo(5) });
    const waiting = acquireLock(client, "homelab", { command: "patient" });
    await expect(waiting).rejects.toThrow(/last heartbeat 30\d s ago: .*--force-unlock takes it over/);
    const forced = await acquireLock(client, "homelab", { command: "forced", force: true });
    expect(forced.tookOverFrom?.run).toBe(silent.run);
    await forced.release();
    expect(await holderInPool()).toBeUndefined();
  });
});

describe("two applies at once (CLI)", () => {
  test("the second refuses naming the holder, and so does --force-unlock while that run lives; the first ends converged", async () => {
    // Long tasks: the first run must still hold the lock while the second and third start up, which takes seconds on a loaded machine.
    const lab = await startLab({ emulator: { taskMs: 1_500 } });
    try {
      // The holder's name comes from the environment the command was given.
      const first = spawnStarbase(lab, ["apply", lab.specFile, "--phase", "infra"], { USER: "ops-anna", LOGNAME: "ops-anna" });
      const firstOut = Promise.all([new Response(first.stdout).text(), new Response(first.stderr).text()]);
      while (!lab.emu.requestLog.some((e) => e.method === "POST" && e.path === "/pools" && e.params.poolid === HOLDER && e.status === undefined)) {
        await Bun.sleep(20);
      }
      const holder = `cluster homelab is locked by ops-anna@${hostname()} (pid ${first.pid}, apply --phase infra) since `;

      const second = await applyInfra(lab);
      expect(second.rc).toBe(1);
      expect(second.stderr).toContain(holder);
      expect(second.stderr).toContain(`pid ${first.pid} still runs on this machine`);

      const forced = await applyInfra(lab, "--force-unlock");
      expect(forced.rc).toBe(1);
      expect(forced.stderr).toContain(holder);
      expect(forced.stderr).toContain("--force-unlock never takes the lock from a live run");
      expect(forced.stderr).not.toContain("took over");

      expect(await first.exited).toBe(0);
      const [firstStdout] = await firstOut;
      expect(firstStdout).toContain("Changes made:");
      const after = await applyInfra(lab);
      expect(after.stdout).toContain("No changes");
      expect(lab.emu.state.vms.size).toBe(11);
    } finally {
      await lab.stop();
    }
  }, 120_000);

  test("Ctrl-C: running steps finish or stop, the lock is released, and the next apply goes on", async () => {
    const lab = await startLab({ emulator: { taskMs: 300 } });
    try {
      const run = spawnStarbase(lab, ["apply", lab.specFile, "--phase", "infra"]);
      const output = Promise.all([new Response(run.stdout).text(), new Response(run.stderr).text()]);
      while (!lab.emu.requestLog.some((e) => e.method === "POST" && /\/qemu$/.test(e.path))) await Bun.sleep(20);
      run.kill("SIGINT");
      expect(await run.exited).toBe(1);
      const [, stderr] = await output;
      expect(stderr).toContain("interrupted");
      expect(stderr).toContain("run cancelled");
      const api = new ApiClient(lab.emu);
      const pools = await api.call("GET", "/pools");
      // Released: the sub-pool naming the holder is gone; the pool a grant may be on stays.
      expect(pools.body.data.map((p: { poolid: string }) => p.poolid)).toEqual([POOL]);
      expect(lab.emu.state.vms.size).toBeLessThan(11);
      const next = await applyInfra(lab);
      expect(next.stderr).not.toContain("took over");
      expect(next.rc).toBe(0);
      expect(lab.emu.state.vms.size).toBe(11);
    } finally {
      await lab.stop();
    }
  }, 120_000);
});
