// Changes made outside starbase (e.g. in the Proxmox web UI) to settings that
// /cluster/resources does not show: the default plan trusts the config-hash tag (the request
// budget), --deep reads every VM's config and finds them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { applyInfra, type Lab, mutating, starbase, startLab } from "./harness.ts";

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

  test("the default plan trusts the config-hash tag and reads no VM config", async () => {
    const before = lab.emu.requestLog.length;
    const plan = await starbase(lab, ["plan", lab.specFile]);
    expect(plan.rc).toBe(0);
    expect(lab.emu.requestLog.slice(before).filter((e) => /\/qemu\/\d+\/(config|pending)$/.test(e.path))).toEqual([]);
  });

  test("plan --deep reads every VM's config and shows the edited NIC", async () => {
    const before = lab.emu.requestLog.length;
    const plan = await starbase(lab, ["plan", lab.specFile, "--deep"]);
    expect(plan.rc).toBe(2);
    expect(plan.stdout).toMatch(/~ VM server01 \(210\) net0: \S*bridge=vmbr9\S* → \S*bridge=vmbr0/);
    expect(plan.stdout).toContain("Plan (infra): 0 to create, 1 to change");
    const configReads = lab.emu.requestLog.slice(before).filter((e) => e.method === "GET" && /\/qemu\/\d+\/(config|pending)$/.test(e.path));
    expect(configReads).toHaveLength(lab.emu.state.vms.size);
    expect(mutating(lab.emu.requestLog.slice(before))).toEqual([]);
  });

  test("apply --deep puts the NIC back; afterwards plan --deep finds nothing", async () => {
    const apply = await applyInfra(lab, "--deep");
    expect(apply.rc).toBe(0);
    expect(lab.emu.state.vms.get(SERVER01)!.config.net0).toContain("bridge=vmbr0");
    const plan = await starbase(lab, ["plan", lab.specFile, "--deep"]);
    expect(plan.rc).toBe(0);
  });

  test("--deep with --offline is a usage error", async () => {
    const plan = await starbase(lab, ["plan", lab.specFile, "--offline", "--deep"]);
    expect(plan.rc).toBe(64);
    expect(plan.stderr).toContain("--deep");
  });
});
