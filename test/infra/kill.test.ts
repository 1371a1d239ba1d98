// kill -9 of apply at many points (after the k-th request Proxmox received), then apply again:
// the end state equals a clean run's, and a further apply changes nothing. The second run
// takes over the lock the killed one left (same machine, process gone).
import { beforeAll, describe, expect, test } from "bun:test";
import { applyInfra, endState, mutating, spawnStarbase, startLab } from "./harness.ts";

let clean: unknown;
let freshRequests = 0;
beforeAll(async () => {
  const lab = await startLab();
  try {
    expect((await applyInfra(lab)).rc).toBe(0);
    clean = endState(lab.emu);
    freshRequests = lab.emu.requestLog.length;
  } finally {
    await lab.stop();
  }
});

// Spread over a fresh apply: observation, lock, downloads, uploads, creations, resizes, starts.
const FRACTIONS = [0.03, 0.06, 0.1, 0.16, 0.24, 0.33, 0.42, 0.52, 0.62, 0.72, 0.82, 0.92];

describe("kill -9 during apply, then apply again", () => {
  for (const fraction of FRACTIONS) {
    test(`killed after ${Math.round(fraction * 100)}% of a fresh apply's requests`, async () => {
      const lab = await startLab();
      try {
        const k = Math.max(1, Math.round(fraction * freshRequests));
        const victim = spawnStarbase(lab, ["apply", lab.specFile, "--phase", "infra"]);
        while (lab.emu.requestLog.length < k && victim.exitCode === null) await Bun.sleep(1);
        victim.kill(9);
        expect(await victim.exited).not.toBe(0);
        const killedAt = lab.emu.requestLog.length;
        expect(killedAt).toBeGreaterThanOrEqual(k);

        const again = await applyInfra(lab);
        expect(again.stderr).not.toMatch(/is locked by/);
        expect(again.rc).toBe(0);
        await lab.emu.idle();
        expect(endState(lab.emu)).toEqual(clean);

        const before = lab.emu.requestLog.length;
        const third = await applyInfra(lab);
        expect(third.stdout).toContain("No changes");
        expect(mutating(lab.emu.requestLog.slice(before))).toEqual([]);
        expect(lab.emu.requestLog.filter((e) => e.status === 400 || e.status === 403 || e.status === 501)).toEqual([]);
      } finally {
        await lab.stop();
      }
    }, 120_000);
  }
});
