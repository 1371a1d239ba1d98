import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileLockStore, LockFileError } from "../../../src/steps/cluster/lock-file.ts";
import { type LockHolder, LockHeldError, storeLock } from "../../../src/steps/lock.ts";

// The store's scripts run for real in sh with flock, as on a node; only the path is a scratch
// one and the "SSH" is a local sh. Over SSH to a lab host: test/cluster (the cluster phase).

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "sblock-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function sh(script: string): Promise<string> {
  const child = Bun.spawn(["sh", "-c", script], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`script failed (${code}): ${stderr}`);
  return stdout;
}

const holder = (run: string, host = "laptop"): LockHolder => ({
  user: "ops", host, pid: 999_999_999, command: "apply", since: "2026-11-30T00:00:00.000Z", heartbeat: new Date().toISOString(), run,
});

describe("the cluster phase's lock file", () => {
  test("of ten creates at once exactly one succeeds, and the file is private", async () => {
    const path = join(scratch, "race", "run.lock");
    const store = fileLockStore(path, sh);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => store.create(holder(`run-${i}`))));
    expect(results.filter(Boolean)).toHaveLength(1);
    const winner = results.indexOf(true);
    const read = await store.read();
    expect(read.exists && read.holder?.run).toBe(`run-${winner}`);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(scratch, "race")).mode & 0o777).toBe(0o700);
  });

  test("write replaces the holder whole; remove deletes; read says missing", async () => {
    const path = join(scratch, "rw", "run.lock");
    const store = fileLockStore(path, sh);
    expect(await store.create(holder("a"))).toBe(true);
    await store.write(holder("b"));
    expect(JSON.parse(readFileSync(path, "utf8")).run).toBe("b");
    await store.remove();
    expect(existsSync(path)).toBe(false);
    expect(await store.read()).toEqual({ exists: false });
    await store.remove();
  });

  test("a file starbase did not write reads as a holder that is gone; holder text is data, never run", async () => {
    const path = join(scratch, "odd", "run.lock");
    const store = fileLockStore(path, sh);
    const odd = { ...holder("x"), user: "o'brien $(touch /tmp/sb-lock-pwned)" };
    expect(await store.create(odd)).toBe(true);
    expect(existsSync("/tmp/sb-lock-pwned")).toBe(false);
    const read = await store.read();
    expect(read.exists && read.holder?.user).toBe(odd.user);
    await sh(`echo garbage > '${path}'`);
    expect(await store.read()).toEqual({ exists: true, holder: undefined });
  });

  test("through storeLock: a second run is refused naming the live holder; a release lets the next one in", async () => {
    const path = join(scratch, "runlock", "run.lock");
    const lock = storeLock("homelab", fileLockStore(path, sh));
    const claimant = (host: string) => ({ user: "ops", host, pid: process.pid, command: "apply --phase cluster" });
    const first = await lock.acquire({ claimant: claimant("laptop") });
    const refused = lock.acquire({ claimant: claimant("jumphost") });
    await expect(refused).rejects.toBeInstanceOf(LockHeldError);
    await expect(refused).rejects.toThrow("cluster homelab is locked by ops@laptop");
    await first.release();
    const second = await lock.acquire({ claimant: claimant("jumphost") });
    expect(second.holder.host).toBe("jumphost");
    await second.release();
    expect(existsSync(path)).toBe(false);
  });

  test("an answer that is none of the script's is an error, never a lock state", async () => {
    const store = fileLockStore(join(scratch, "bad", "run.lock"), async () => "maybe\n");
    await expect(store.create(holder("a"))).rejects.toBeInstanceOf(LockFileError);
    await expect(store.read()).rejects.toThrow("unexpected answer to read");
  });
});
