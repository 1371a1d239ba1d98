// Task failures are classified: a worker that failed on a lock timeout (its storage flock, a
// shared storage's cfs lock, the VM's flock) is retried like a lost answer; a worker that failed
// for a reason a retry cannot change is not, and the summary says what to fix instead of
// "run apply again to continue".
import { afterEach, describe, expect, test } from "bun:test";
import { applyInfra, type Lab, mutating, startLab } from "./harness.ts";

const labs: Lab[] = [];
afterEach(async () => {
  for (const lab of labs.splice(0)) await lab.stop();
});

async function lab(faults: Parameters<typeof startLab>[0]): Promise<Lab> {
  const started = await startLab(faults);
  labs.push(started);
  return started;
}

describe("task failures", () => {
  test("a worker's lock timeout is retried: one apply converges", async () => {
    const emu = await lab({ emulator: { faults: { seed: 11, rates: { taskLockTimeout: 0.35 } } } });
    const run = await applyInfra(emu);
    const lockFailures = emu.emu.state.tasks.filter((t) => /can't lock file '.*' - got timeout|got lock request timeout/.test(t.exitstatus ?? ""));
    expect(lockFailures.length).toBeGreaterThan(2);
    expect(run.stderr).toMatch(/attempt 1 failed: Proxmox task qmcreate \d+ on node0\d failed: unable to create VM \d+ - cannot import from '\S+' - can't lock file '\/var\/lock\/pve-manager\/pve-storage-local-lvm' - got timeout\n/);
    expect(run.stderr).toMatch(/attempt 1 failed: Proxmox task qmstart \d+ on node0\d failed: can't lock file '\/var\/lock\/qemu-server\/lock-\d+\.conf' - got timeout\n/);
    expect(run.stderr).not.toContain("a retry cannot change");
    expect(run.rc).toBe(0);

    emu.emu.setFaults({ rates: {} });
    const before = emu.emu.requestLog.length;
    const again = await applyInfra(emu);
    expect(again.stdout).toContain("No changes");
    expect(mutating(emu.emu.requestLog.slice(before))).toEqual([]);
  }, 120_000);

  test("a worker failure a retry cannot change is tried once, and the summary says to fix it", async () => {
    const failText = "storage 'local' is not online";
    const emu = await lab({ emulator: { faults: { seed: 1, rates: { taskFail: 1 }, failText } } });
    const run = await applyInfra(emu);
    expect(run.rc).toBe(1);
    // Each node's download ran once: not retried.
    const downloads = emu.emu.requestLog.filter((e) => e.method === "POST" && e.path.endsWith("/download-url"));
    expect(downloads.map((e) => e.path).sort()).toEqual(["node01", "node02", "node03"].map((n) => `/nodes/${n}/storage/local/download-url`));
    expect(run.stderr).not.toContain("retrying");
    expect(run.stderr).toContain(`failed: image:node01 (pve node node01): Proxmox task download`);
    expect(run.stderr).toContain(failText);
    expect(run.stderr).not.toContain("run apply again to continue");
    expect(run.stderr).toContain("a retry cannot change the failures of image:node01, image:node02, image:node03 and 11 more: fix what they name, then run apply again");
    expect(run.stdout).not.toContain("No changes were needed");
    expect(run.stdout).toContain("The run failed (see above); no step finished its changes.");
  }, 120_000);
});
