import { afterEach, describe, expect, test } from "bun:test";
import { type ApiClient, emulatorForTest } from "./client.ts";
import { defaultStorages, type FaultOptions, type StorageSpec } from "./options.ts";
import type { Emulator } from "./server.ts";

const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.stop()));
});

async function start(faults: FaultOptions, storages?: StorageSpec[]): Promise<{ emulator: Emulator; api: ApiClient }> {
  const started = await emulatorForTest({ nodes: ["n1"], faults, ...(storages !== undefined && { storages }) });
  running.push(started.emulator);
  return started;
}

/**
 * A fixed request sequence; returns what a client observes for each call. Task results are read
 * from the emulator's state: polling would add a timing-dependent number of requests.
 */
async function scenario({ emulator, api }: { emulator: Emulator; api: ApiClient }): Promise<string[]> {
  const outcomes: string[] = [];
  for (let index = 0; index < 12; index++) {
    const version = await api.call("GET", "/version");
    outcomes.push(`version ${version.status} ${version.error ?? ""}`);
    const create = await api.call("POST", "/nodes/n1/qemu", { vmid: 100 + index, scsi0: "local-lvm:1" });
    if (create.status === 200) {
      await emulator.idle();
      const task = emulator.state.tasks.find((candidate) => candidate.upid === create.body.data);
      outcomes.push(`create ${task?.exitstatus}`);
    } else {
      outcomes.push(`create ${create.status} ${create.reason}`);
    }
  }
  return outcomes;
}

describe("fault injection", () => {
  test("the same seed and request sequence give the same faults; another seed does not", async () => {
    const rates = { timeout596: 0.2, drop: 0.2, taskFail: 0.2, lockTimeout: 0.2 };
    const first = await scenario(await start({ seed: 42, rates }));
    const second = await scenario(await start({ seed: 42, rates }));
    const other = await scenario(await start({ seed: 7, rates }));
    expect(second).toEqual(first);
    expect(other).not.toEqual(first);
    for (const observed of ["version 596", "version 0 ECONNRESET", "create unable to create VM", "create 500"]) {
      expect([...first, ...other].some((outcome) => outcome.startsWith(observed))).toBe(true);
    }
  });

  test("596 on a mutating call: sometimes the action happened, sometimes not", async () => {
    const { emulator, api } = await start({ seed: 3, rates: { timeout596: 1 } });
    for (let vmid = 200; vmid < 210; vmid++) {
      const response = await api.call("POST", "/nodes/n1/qemu", { vmid, scsi0: "local-lvm:1" });
      expect(response.status).toBe(596);
      expect(response.reason).toBe("Connection timed out");
      expect(response.raw).toBe("");
      expect(response.headers.connection).toBe("close");
    }
    await emulator.idle();
    const created = [...emulator.state.vms.keys()];
    expect(created.length).toBeGreaterThan(0);
    expect(created.length).toBeLessThan(10);
    expect(emulator.requestLog.every((entry) => entry.status === 596 && entry.fault === "timeout596")).toBe(true);
  });

  test("a dropped connection ends without any response and is logged with status 0", async () => {
    const { emulator, api } = await start({ seed: 1, rates: { drop: 1 } });
    const response = await api.call("GET", "/cluster/resources");
    expect(response.status).toBe(0);
    expect(response.error).toBe("ECONNRESET");
    expect(emulator.requestLog.at(-1)).toMatchObject({ path: "/cluster/resources", status: 0, fault: "drop" });
  });

  test("lock timeouts hit where the real code takes the flock: synchronously or inside the task", async () => {
    const { emulator, api } = await start({ seed: 1 });
    const created = await api.run("POST", "/nodes/n1/qemu", { vmid: 300, scsi0: "local-lvm:1" });
    expect(created.status.exitstatus).toBe("OK");
    emulator.setFaults({ rates: { lockTimeout: 1 } });
    const update = await api.call("PUT", "/nodes/n1/qemu/300/config", { description: "x" });
    expect(update.status).toBe(500);
    expect(update.reason).toBe("can't lock file '/var/lock/qemu-server/lock-300.conf' - got timeout");
    const create = await api.call("POST", "/nodes/n1/qemu", { vmid: 301 });
    expect(create.reason).toBe("unable to create VM 301 - can't lock file '/var/lock/qemu-server/lock-301.conf' - got timeout");
    const startTask = await api.run("POST", "/nodes/n1/qemu/300/status/start");
    expect(startTask.status.exitstatus).toBe("can't lock file '/var/lock/qemu-server/lock-300.conf' - got timeout");
    expect(emulator.state.vm(301)).toBeUndefined();
  });

  test("failing tasks end with the configured text and undo a create; slow tasks take longer", async () => {
    const { emulator, api } = await start({ seed: 1, rates: { taskFail: 1 }, failText: "storage migration failed" });
    const failed = await api.run("POST", "/nodes/n1/qemu", { vmid: 400, scsi0: "local-lvm:1" });
    expect(failed.status.exitstatus).toBe("unable to create VM 400 - storage migration failed");
    expect(failed.log.at(-1)).toBe("TASK ERROR: unable to create VM 400 - storage migration failed");
    expect(emulator.state.vm(400)).toBeUndefined();
    expect(emulator.state.volumes.filter((volume) => volume.vmid === 400)).toEqual([]);

    emulator.setFaults({ rates: { taskSlow: 1 }, slowFactor: 1000 });
    const slow = await api.call("POST", "/nodes/n1/qemu", { vmid: 401, scsi0: "local-lvm:1" });
    emulator.setFaults({ rates: {} });
    const normal = await api.run("POST", "/nodes/n1/qemu", { vmid: 402, scsi0: "local-lvm:1" });
    expect(normal.status.exitstatus).toBe("OK");
    const status = await api.call("GET", `/nodes/n1/tasks/${encodeURIComponent(slow.body.data)}/status`);
    expect(status.body.data.status).toBe("running");
  });

  test("a worker's lock times out with the real texts: storage flock, cfs lock, VM flock", async () => {
    const shared: StorageSpec = { id: "ceph", type: "rbd", content: ["images"], shared: true };
    const { emulator, api } = await start({ seed: 1, rates: { taskLockTimeout: 1 } }, [...defaultStorages(), shared]);

    const local = await api.run("POST", "/nodes/n1/qemu", { vmid: 500, scsi0: "local-lvm:1" });
    expect(local.status.exitstatus).toBe("unable to create VM 500 - can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout");
    expect(local.log).toContain("trying to acquire lock...");
    expect(local.log.at(-1)).toBe(`TASK ERROR: ${local.status.exitstatus}`);
    expect(emulator.state.vm(500)).toBeUndefined();
    expect(emulator.state.volumes.filter((volume) => volume.vmid === 500)).toEqual([]);

    const cfs = await api.run("POST", "/nodes/n1/qemu", { vmid: 501, scsi0: "ceph:1" });
    expect(cfs.status.exitstatus).toBe("unable to create VM 501 - cfs-lock 'storage-ceph' error: got lock request timeout");
    expect(cfs.log).toContain("trying to acquire cfs lock 'storage-ceph' ...");

    emulator.setFaults({ rates: {} });
    expect((await api.run("POST", "/nodes/n1/qemu", { vmid: 502, scsi0: "local-lvm:1" })).status.exitstatus).toBe("OK");
    emulator.setFaults({ rates: { taskLockTimeout: 1 } });
    const startTask = await api.run("POST", "/nodes/n1/qemu/502/status/start");
    expect(startTask.status.exitstatus).toBe("can't lock file '/var/lock/qemu-server/lock-502.conf' - got timeout");
    expect(emulator.state.vm(502)?.running).toBe(false);
    emulator.putFile("n1", "local:iso/seed.iso", "x");
    const removal = await api.run("DELETE", `/nodes/n1/storage/local/content/${encodeURIComponent("local:iso/seed.iso")}`);
    expect(removal.status.exitstatus).toBe("can't lock file '/var/lock/pve-manager/pve-storage-local' - got timeout");
    expect(emulator.state.volume("n1", "local:iso/seed.iso")).toBeDefined();

    emulator.putFile("n1", "local:import/image.qcow2", "x");
    const imported = await api.run("POST", "/nodes/n1/qemu", { vmid: 503, scsi0: "local-lvm:0,import-from=local:import/image.qcow2" });
    expect(imported.status.exitstatus).toBe(
      "unable to create VM 503 - cannot import from 'local:import/image.qcow2' - can't lock file '/var/lock/pve-manager/pve-storage-local-lvm' - got timeout",
    );
    expect(imported.log.slice(0, 2)).toEqual(["importing disk 'local:import/image.qcow2' to VM 503 ...", "trying to acquire lock..."]);
    // A GET takes no lock.
    expect((await api.call("GET", "/nodes/n1/qemu/502/status/current")).status).toBe(200);
  });

  test("one rate per request, spread over the kinds that can hit it", async () => {
    const requests = 400;
    const { emulator, api } = await start({ seed: 9, rate: 0.25 });
    for (let index = 0; index < requests; index++) await api.call("GET", "/version");
    const faulted = emulator.requestLog.filter((entry) => entry.fault !== undefined);
    // A GET can only get a transport fault, and gets one with the whole rate, not a share of it.
    expect(faulted.length / requests).toBeGreaterThan(0.18);
    expect(faulted.length / requests).toBeLessThan(0.32);
    const kinds = new Set(faulted.map((entry) => entry.fault));
    expect(kinds).toEqual(new Set(["timeout596", "drop"]));

    emulator.setFaults({ rate: 0.25, kinds: ["drop"] });
    const before = emulator.requestLog.length;
    for (let index = 0; index < requests; index++) await api.call("GET", "/version");
    const drops = emulator.requestLog.slice(before).filter((entry) => entry.fault === "drop").length;
    expect(drops / requests).toBeGreaterThan(0.18);
    expect(drops / requests).toBeLessThan(0.32);
  });
});
