// /cluster/resources lags: a VM's name, status and sizes there are pvestatd's samples (every
// 10 s), its tags and lock are its config's. Here the emulator samples only when a test says so
// (emu.sample()), so every VM created in a test stays unsampled: status "unknown", no name.
import { afterEach, describe, expect, test } from "bun:test";
import { ApiClient } from "../emulator/client.ts";
import { applyInfra, endState, type Lab, mutating, spawnStarbase, starbase, startLab } from "./harness.ts";

const NEVER = Number.POSITIVE_INFINITY;

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

/** A lab after a fresh apply where agent01 (220) was sampled while stopped and started since: the listing says "stopped", the VM runs. */
async function appliedWithAgentStartedSinceSample(): Promise<{ l: Lab; api: ApiClient }> {
  const l = await startLab({ emulator: { sampleMs: NEVER } });
  lab = l;
  expect((await applyInfra(l)).rc).toBe(0);
  const api = new ApiClient(l.emu);
  expect((await api.run("POST", "/nodes/node01/qemu/220/status/stop")).status.exitstatus).toBe("OK");
  l.emu.sample();
  expect((await api.run("POST", "/nodes/node01/qemu/220/status/start")).status.exitstatus).toBe("OK");
  return { l, api };
}

describe("/cluster/resources lags behind the VMs", () => {
  test("VMs not sampled yet are this cluster's when their tags say so: a plan right after apply changes nothing", async () => {
    lab = await startLab({ emulator: { sampleMs: NEVER } });
    expect((await applyInfra(lab)).rc).toBe(0);
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.stdout).not.toContain("is taken by");
    expect(plan.rc).toBe(0);
  });

  test("apply killed during an import, then apply again: it waits for the create, then finishes that VM", async () => {
    lab = await startLab({ emulator: { sampleMs: NEVER, taskDurations: { qmcreate: 1500 } } });
    const victim = spawnStarbase(lab, ["apply", lab.specFile, "--phase", "infra"]);
    const creating = () => [...lab!.emu.state.vms.values()].some((vm) => vm.config.lock === "create");
    while (!creating() && victim.exitCode === null) await Bun.sleep(5);
    victim.kill(9);
    await victim.exited;
    expect(creating()).toBe(true);

    const again = await applyInfra(lab);
    expect(again.stderr).not.toContain("is taken by");
    expect(again.rc).toBe(0);
    await lab.emu.idle();
    const vms = [...lab.emu.state.vms.values()];
    expect(vms).toHaveLength(11);
    expect(vms.every((vm) => vm.running && vm.config.lock === undefined)).toBe(true);
  });

  test("a VM created but not started by a lost run is started, not refused as someone else's", async () => {
    lab = await startLab({ emulator: { sampleMs: NEVER } });
    expect((await applyInfra(lab)).rc).toBe(0);
    const clean = endState(lab.emu);
    // What a run that lost its connection after the create leaves: the VM, stopped, not yet sampled.
    const api = new ApiClient(lab.emu);
    expect((await api.run("POST", "/nodes/node01/qemu/220/status/stop")).status.exitstatus).toBe("OK");
    const again = await applyInfra(lab);
    expect(again.stdout).toContain("~ VM agent01 (220) status: stopped → running");
    expect(again.rc).toBe(0);
    expect(endState(lab.emu)).toEqual(clean);
  });

  test("a VM started since its last sample (which says stopped) is left alone", async () => {
    const { l, api } = await appliedWithAgentStartedSinceSample();
    const resources = (await api.call("GET", "/cluster/resources", { type: "vm" })).body.data as { vmid: number; status: string }[];
    expect(resources.find((vm) => vm.vmid === 220)?.status).toBe("stopped");

    const before = l.emu.requestLog.length;
    const again = await applyInfra(l);
    expect(again.rc).toBe(0);
    expect(again.stdout).toContain("No changes");
    expect(mutating(l.emu.requestLog.slice(before))).toEqual([]);
  });

  test("destroy right after a start (the sample still says stopped) stops each VM before it deletes it", async () => {
    const { l } = await appliedWithAgentStartedSinceSample();
    const before = l.emu.requestLog.length;
    const run = await starbase(l, ["destroy", l.specFile, "--yes"]);
    expect(run.rc).toBe(0);
    expect(l.emu.state.vms.size).toBe(0);
    const calls = mutating(l.emu.requestLog.slice(before)).map((e) => `${e.method} ${e.path}`);
    // Every VM ran (the unsampled ones and the one sampled as stopped): each is stopped, then deleted.
    for (const vmid of [200, 201, 210, 220, 222]) {
      const stop = calls.findIndex((c) => c.endsWith(`/qemu/${vmid}/status/stop`));
      const remove = calls.findIndex((c) => c.startsWith("DELETE") && c.endsWith(`/qemu/${vmid}`));
      expect(stop).toBeGreaterThanOrEqual(0);
      expect(remove).toBeGreaterThan(stop);
    }
  });
});
