import { describe, expect, test } from "bun:test";
import { emulatorForTest } from "./client.ts";
import { LockManager, vmLockRequest } from "./locks.ts";

describe("flock emulation", () => {
  test("a second holder waits for the first and gets the lock when it is released", async () => {
    const locks = new LockManager(0.01);
    const order: string[] = [];
    let release!: () => void;
    const first = locks.withLock(vmLockRequest(100, 10_000), () => new Promise<void>((resolve) => {
      order.push("first");
      release = resolve;
    }));
    const second = locks.withLock(vmLockRequest(100, 10_000), () => {
      order.push("second");
    });
    await Bun.sleep(5);
    expect(order).toEqual(["first"]);
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(["first", "second"]);
  });

  test("a waiter gives up after the scaled timeout with the flock error text", async () => {
    const locks = new LockManager(0.001);
    const holder = locks.withLock(vmLockRequest(7, 10_000), () => Bun.sleep(200));
    await expect(locks.withLock(vmLockRequest(7, 10_000), () => "never")).rejects.toThrow(
      "can't lock file '/var/lock/qemu-server/lock-7.conf' - got timeout",
    );
    await holder;
    expect(await locks.withLock(vmLockRequest(7, 10_000), () => "free again")).toBe("free again");
  });

  test("parallel creates on one storage time out on its allocation lock", async () => {
    const { emulator, api } = await emulatorForTest({ nodes: ["n1"], lockScale: 0.02, allocationMs: 150 });
    try {
      const responses = await Promise.all([500, 501, 502, 503].map((vmid) => api.call("POST", "/nodes/n1/qemu", { vmid, scsi0: "local-lvm:4" })));
      const results = await Promise.all(responses.map((response) => api.waitTask(response.body.data)));
      const statuses = results.map((result) => result.status.exitstatus);
      expect(statuses.filter((status) => status === "OK").length).toBe(2);
      for (const [index, status] of statuses.entries()) {
        if (status !== "OK") {
          expect(status).toBe(`unable to create VM ${500 + index} - can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout`);
        }
      }
      expect(emulator.state.vms.size).toBe(2);
    } finally {
      await emulator.stop();
    }
  });
});
