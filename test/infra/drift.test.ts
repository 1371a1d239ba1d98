// Changes made outside starbase (e.g. in the Proxmox web UI) to settings that /cluster/resources
// does not show: every plan and apply reads each VM's config, so they are found and put back;
// and a VM that a Proxmox task holds meanwhile.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { applyInfra, type Lab, mutating, spawnStarbase, starbase, startLab } from "./harness.ts";

const SERVER01 = 210;

describe("drift outside starbase", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab();
    const fresh = await applyInfra(lab);
    if (fresh.rc !== 0) throw new Error(`fresh apply failed:\n${fresh.stderr}`);
    // What an edit of server01's NIC in the web UI leaves behind: another bridge, same tags.
    const vm = lab.emu.state.vms.get(SERVER01)!;
    vm.config.net0 = vm.config.net0!.replace("bridge=vmbr0", "bridge=vmbr9");
  });
  afterAll(() => lab.stop());

  test("plan reads every VM's config once and shows the edited NIC", async () => {
    const before = lab.emu.requestLog.length;
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.rc).toBe(2);
    expect(plan.stdout).toMatch(/~ VM server01 \(210\) net0: \S*bridge=vmbr9\S* → \S*bridge=vmbr0/);
    expect(plan.stdout).toContain("Plan (infra): 26 steps: 1 to change, 25 unchanged");
    const configReads = lab.emu.requestLog.slice(before).filter((e) => e.method === "GET" && /\/qemu\/\d+\/(config|pending)$/.test(e.path));
    expect(configReads).toHaveLength(lab.emu.state.vms.size);
    expect(mutating(lab.emu.requestLog.slice(before))).toEqual([]);
  });

  test("apply puts the NIC back; afterwards plan finds nothing", async () => {
    const apply = await applyInfra(lab);
    expect(apply.rc).toBe(0);
    expect(lab.emu.state.vms.get(SERVER01)!.config.net0).toContain("bridge=vmbr0");
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.rc).toBe(0);
  });

  // A running backup writes `lock: backup` into the VM's config: apply waits for that task to end,
  // then observes the VM again and makes what still differs.
  test("a VM held by a Proxmox task: apply waits for the lock to go, then looks again and changes what still differs", async () => {
    const vm = lab.emu.state.vms.get(SERVER01)!;
    vm.config.lock = "backup";
    vm.config.net0 = vm.config.net0!.replace("bridge=vmbr0", "bridge=vmbr9");
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.rc).toBe(2);
    expect(plan.stdout).toContain("~ VM server01 (210) lock: backup");

    const before = lab.emu.requestLog.length;
    const apply = spawnStarbase(lab, ["apply", lab.specFile, "--phase", "infra"]);
    const output = Promise.all([new Response(apply.stdout).text(), new Response(apply.stderr).text()]);
    const waitingOnTheVm = () => {
      const sent = lab.emu.requestLog.slice(before);
      const locked = sent.findIndex((e) => e.method === "POST" && e.path === "/pools" && e.params.poolid === "starbase-lock-homelab/run");
      return locked >= 0 && sent.slice(locked).some((e) => e.method === "GET" && e.path.endsWith(`/qemu/${SERVER01}/status/current`));
    };
    while (!waitingOnTheVm()) await Bun.sleep(20);
    // Nothing is sent to the VM while the task holds it.
    expect(vm.config.net0).toContain("bridge=vmbr9");
    delete vm.config.lock;

    expect(await apply.exited).toBe(0);
    const [stdout, stderr] = await output;
    expect(stderr).toContain("VM 210 is locked (backup); waiting");
    expect(stdout).toContain("Changes made:");
    expect(vm.config.net0).toContain("bridge=vmbr0");
    expect((await starbase(lab, ["plan", lab.specFile, "--phase", "infra"])).rc).toBe(0);
  }, 60_000);
});
