// The cluster lock: a Proxmox pool created atomically, naming its holder, with heartbeat,
// takeover of abandoned locks and --force-unlock.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { ProxmoxClient } from "../../src/proxmox/index.ts";
import { acquireLock, currentUser, type LockHolder, LockHeldError, lockPoolId } from "../../src/steps/lock.ts";
import { ApiClient } from "../emulator/client.ts";
import { DEFAULT_TOKEN } from "../emulator/options.ts";
import { applyInfra, type Lab, spawnStarbase, startLab } from "./harness.ts";

const POOL = lockPoolId("homelab");

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

  const holderInPool = async (): Promise<LockHolder | undefined> => {
    const pools = await client.get<{ poolid: string; comment?: string }[]>("/pools");
    const comment = pools.find((p) => p.poolid === POOL)?.comment;
    return comment === undefined ? undefined : (JSON.parse(comment) as LockHolder);
  };

  test("the pool holds who runs; a second taker is refused with that name; release removes it", async () => {
    const first = await acquireLock(client, "homelab", { command: "apply (first)" });
    expect(await holderInPool()).toMatchObject({ user: currentUser(), host: hostname(), pid: process.pid, command: "apply (first)" });
    const refused = acquireLock(client, "homelab", { command: "apply (second)" });
    await expect(refused).rejects.toBeInstanceOf(LockHeldError);
    await expect(refused).rejects.toThrow(
      new RegExp(`cluster homelab is locked by ${currentUser()}@${hostname()} \\(pid ${process.pid}, apply \\(first\\)\\) since \\S+, last heartbeat \\d+ s ago; .*--force-unlock`),
    );
    await first.release();
    expect(await holderInPool()).toBeUndefined();
  });

  test("a lock without heartbeat for longer than the stale time is taken over; the old holder's release leaves it alone", async () => {
    const old = await acquireLock(client, "homelab", { command: "old" });
    const later = Date.now() + 16 * 60_000;
    const next = await acquireLock(client, "homelab", { command: "new", now: () => later });
    expect(next.tookOverFrom?.run).toBe(old.holder.run);
    await old.release();
    expect((await holderInPool())?.run).toBe(next.holder.run);
    await next.release();
    expect(await holderInPool()).toBeUndefined();
  });

  test("a lock left by a dead process on this machine is taken over at once", async () => {
    const dead = Bun.spawn(["true"]);
    await dead.exited;
    const stamp = new Date().toISOString();
    const corpse: LockHolder = { user: "ops", host: hostname(), pid: dead.pid, command: "apply", since: stamp, heartbeat: stamp, run: "killed-run" };
    await client.post("/pools", { poolid: POOL, comment: JSON.stringify(corpse) });
    const lock = await acquireLock(client, "homelab", { command: "apply" });
    expect(lock.tookOverFrom?.pid).toBe(dead.pid);
    await lock.release();
  });

  test("--force-unlock takes over a live holder, whose heartbeat then notices and stops", async () => {
    let lostTo: LockHolder | undefined;
    const lost = new Promise<void>((resolve) => {
      void acquireLock(client, "homelab", { command: "victim", heartbeatMs: 30, onLost: (h) => { lostTo = h; resolve(); } });
    });
    await Bun.sleep(50);
    const forced = await acquireLock(client, "homelab", { command: "forced", force: true });
    expect(forced.tookOverFrom?.command).toBe("victim");
    await lost;
    expect(lostTo?.run).toBe(forced.holder.run);
    await forced.release();
  });
});

describe("two applies at once (CLI)", () => {
  test("the second refuses naming the holder; --force-unlock takes over; both end converged", async () => {
    const lab = await startLab({ emulator: { taskMs: 300 } });
    try {
      const first = spawnStarbase(lab, ["apply", lab.specFile, "--phase", "infra"]);
      const firstOut = Promise.all([new Response(first.stdout).text(), new Response(first.stderr).text()]);
      while (!lab.emu.requestLog.some((e) => e.method === "POST" && e.path === "/pools" && e.status === undefined)) await Bun.sleep(20);

      const second = await applyInfra(lab);
      expect(second.rc).toBe(1);
      expect(second.stderr).toContain(`cluster homelab is locked by ${currentUser()}@${hostname()} (pid ${first.pid}, apply --phase infra) since `);
      expect(second.stderr).toContain("--force-unlock");

      const forced = await applyInfra(lab, "--force-unlock");
      expect(forced.stderr).toContain(`took over the lock of cluster homelab from ${currentUser()}@${hostname()} (pid ${first.pid}`);
      expect(forced.rc).toBe(0);
      expect(await first.exited).toBe(0);
      await firstOut;
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
      expect(pools.body.data).toEqual([]);
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
