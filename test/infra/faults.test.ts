// With one request in five failing (596, dropped connections, lock timeouts; and task failures
// in the last case), re-running apply converges on exactly what a clean run builds: no
// duplicate VMIDs, no orphan disks or ISOs.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { FaultOptions } from "../emulator/options.ts";
import { applyInfra, endState, type Lab, mutating, startLab } from "./harness.ts";

const MAX_RUNS = 8;
const TRANSIENT = { timeout596: 0.07, drop: 0.07, lockTimeout: 0.07 };
const WITH_TASK_FAILURES = { timeout596: 0.05, drop: 0.05, lockTimeout: 0.05, taskFail: 0.05 };

let clean: unknown;
beforeAll(async () => {
  const lab = await startLab();
  try {
    expect((await applyInfra(lab)).rc).toBe(0);
    clean = endState(lab.emu);
  } finally {
    await lab.stop();
  }
});

async function convergeUnder(faults: FaultOptions): Promise<{ lab: Lab; runs: number }> {
  const lab = await startLab({ emulator: { faults } });
  let runs = 0;
  for (let rc: number | null = 1; rc !== 0; ) {
    if (++runs > MAX_RUNS) throw new Error(`apply did not converge in ${MAX_RUNS} runs`);
    rc = (await applyInfra(lab)).rc;
  }
  return { lab, runs };
}

describe("apply under injected faults", () => {
  const labs: Lab[] = [];
  afterAll(async () => {
    for (const lab of labs) await lab.stop();
  });

  for (const [seed, rates] of [[1, TRANSIENT], [2, TRANSIENT], [3, TRANSIENT], [4, WITH_TASK_FAILURES], [5, WITH_TASK_FAILURES]] as const) {
    test(`seed ${seed}: ${Object.keys(rates).join(", ")} → the clean run's end state`, async () => {
      const { lab, runs } = await convergeUnder({ seed, rates });
      labs.push(lab);
      const injected = lab.emu.requestLog.filter((e) => e.fault !== undefined || e.status === 500 || e.status === 596).length;
      expect(injected).toBeGreaterThan(5);
      expect(runs).toBeLessThanOrEqual(MAX_RUNS);
      // Never a request Proxmox would refuse for its parameters, path or privileges.
      expect(lab.emu.requestLog.filter((e) => e.status === 400 || e.status === 403 || e.status === 501)).toEqual([]);
      await lab.emu.idle();
      expect(endState(lab.emu)).toEqual(clean);
      const names = [...lab.emu.state.vms.values()].map((vm) => vm.config.name);
      expect(new Set(names).size).toBe(11);

      lab.emu.setFaults({ rates: {} });
      const before = lab.emu.requestLog.length;
      const again = await applyInfra(lab);
      expect(again.stdout).toContain("No changes");
      expect(mutating(lab.emu.requestLog.slice(before))).toEqual([]);
    }, 120_000);
  }
});
