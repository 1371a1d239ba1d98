// The lock rules every store shares (steps/lock.ts), over a store that behaves like a lock file
// created with O_EXCL: create fails when the file exists, write replaces it, remove deletes it.
// The Proxmox pool store is tested against the emulator in test/infra/lock.test.ts.
import { describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { holderText, type LockClaimant, LockHeldError, type LockHolder, type LockRead, type LockStore, parseHolder, storeLock } from "../../src/steps/lock.ts";

/** One file's text, or none. */
class FileStore implements LockStore {
  text: string | undefined;
  async create(holder: LockHolder): Promise<boolean> {
    if (this.text !== undefined) return false;
    this.text = holderText(holder);
    return true;
  }
  async read(): Promise<LockRead> {
    return this.text === undefined ? { exists: false } : { exists: true, holder: parseHolder(this.text) };
  }
  async write(holder: LockHolder): Promise<void> {
    this.text = holderText(holder);
  }
  async remove(): Promise<void> {
    this.text = undefined;
  }
  holder(): LockHolder | undefined {
    return parseHolder(this.text);
  }
}

const here = (command: string): LockClaimant => ({ user: "ops", host: hostname(), pid: process.pid, command });
const elsewhere = (minutesSilent: number): LockHolder => {
  const at = new Date(Date.now() - minutesSilent * 60_000).toISOString();
  return { user: "anna", host: "jump-host-2", pid: 4242, command: "apply --phase cluster", since: at, heartbeat: at, run: "other-run" };
};

describe("storeLock over a lock file", () => {
  test("one holder at a time, named in the refusal; release frees it for the next run", async () => {
    const store = new FileStore();
    const lock = storeLock("homelab", store);
    const first = await lock.acquire({ claimant: here("apply (first)") });
    expect(store.holder()).toMatchObject({ user: "ops", host: hostname(), command: "apply (first)", run: first.holder.run });
    const refused = lock.acquire({ claimant: here("apply (second)") });
    await expect(refused).rejects.toBeInstanceOf(LockHeldError);
    await expect(refused).rejects.toThrow(`cluster homelab is locked by ops@${hostname()} (pid ${process.pid}, apply (first))`);
    await first.release();
    expect(store.text).toBeUndefined();
    await (await lock.acquire({ claimant: here("apply (next)") })).release();
  });

  test("a holder on another machine is taken over only after the stale time without heartbeat", async () => {
    const store = new FileStore();
    const lock = storeLock("homelab", store);
    store.text = holderText(elsewhere(5));
    await expect(lock.acquire({ claimant: here("apply") })).rejects.toThrow("wait for that run to end");
    store.text = holderText(elsewhere(16));
    const held = await lock.acquire({ claimant: here("apply") });
    expect(held.tookOverFrom?.run).toBe("other-run");
    expect(store.holder()?.run).toBe(held.holder.run);
    await held.release();
  });

  test("--force-unlock shortens the wait to three missed heartbeats, never less", async () => {
    const store = new FileStore();
    const lock = storeLock("homelab", store);
    store.text = holderText(elsewhere(1));
    await expect(lock.acquire({ claimant: here("apply"), force: true })).rejects.toThrow("--force-unlock never takes the lock from a live run");
    expect(store.holder()?.run).toBe("other-run");
    store.text = holderText(elsewhere(4));
    const forced = await lock.acquire({ claimant: here("apply"), force: true });
    expect(forced.tookOverFrom?.user).toBe("anna");
    await forced.release();
  });

  test("a record that is not a holder (damaged) counts as gone", async () => {
    const store = new FileStore();
    store.text = "{half a holder";
    const held = await storeLock("homelab", store).acquire({ claimant: here("apply") });
    expect(held.tookOverFrom).toBeUndefined();
    expect(store.holder()?.run).toBe(held.holder.run);
  });

  test("the heartbeat refreshes the record; a holder that was taken over learns it and its release leaves the new holder alone", async () => {
    const store = new FileStore();
    let lostTo: LockHolder | undefined;
    const lost = new Promise<void>((resolve) => {
      void storeLock("homelab", store).acquire({ claimant: here("old"), heartbeatMs: 20, onLost: (h) => { lostTo = h; resolve(); } }).then((old) => olds.push(old));
    });
    const olds: { release(): Promise<void>; holder: LockHolder }[] = [];
    while (olds.length === 0) await Bun.sleep(5);
    const first = store.holder()!.heartbeat;
    while (store.holder()!.heartbeat === first) await Bun.sleep(5);
    store.text = holderText(elsewhere(0));
    await lost;
    expect(lostTo?.run).toBe("other-run");
    await olds[0]!.release();
    expect(store.holder()?.run).toBe("other-run");
  });
});
