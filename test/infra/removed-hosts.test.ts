// Hosts the spec no longer names: their VMs keep running and carry the cluster's tags, so plan
// and apply list them (until scale-in removes them), and a renamed host is explained as one.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { applyInfra, type Lab, mutating, starbase, startLab } from "./harness.ts";

describe("VMs of the cluster that the spec no longer names", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab();
    expect((await applyInfra(lab)).rc).toBe(0);
  });
  afterAll(() => lab.stop());

  test("a lowered count: plan lists the VM as not in the spec and exits 2; apply leaves it running and says so", async () => {
    const agent03 = lab.emu.state.vms.get(222)!;
    lab.editSpec((doc) => doc.setIn(["nodes", "agents", "count"], 2));
    const line = `- VM agent03 (222) on ${agent03.node} (not in the spec; scale-in removes it`;
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.stdout).toContain(line);
    expect(plan.stdout).toContain("1 listing VMs not in the spec (left running)");
    expect(plan.rc).toBe(2);

    const json = await starbase(lab, ["plan", lab.specFile, "--phase", "infra", "--output", "json"]);
    expect(json.rc).toBe(2);
    const result = JSON.parse(json.stdout.trim().split("\n").at(-1)!);
    const listed = result.steps.flatMap((s: { changes: Record<string, unknown>[] }) => s.changes).filter((c: Record<string, unknown>) => c.op === "-");
    // Reported only: nothing in this run removes it, which a confirmation of removals can tell by `informational`.
    expect(listed).toEqual([expect.objectContaining({ subject: `VM agent03 (222) on ${agent03.node}`, informational: true })]);
    expect(result.counts).toMatchObject({ remove: 0, notInSpec: 1 });

    const before = lab.emu.requestLog.length;
    const apply = await applyInfra(lab);
    expect(apply.rc).toBe(0);
    expect(apply.stdout).toContain(line);
    expect(apply.stdout).not.toContain("matches the spec");
    expect(mutating(lab.emu.requestLog.slice(before))).toEqual([]);
    expect(lab.emu.state.vms.get(222)?.running).toBe(true);
  });

  test("a renamed host: explained as a rename of this cluster's VM, with fixes that leave no VM behind", async () => {
    lab.editSpec((doc) => {
      doc.setIn(["nodes", "agents", "count"], 3);
      doc.setIn(["nodes", "servers", "hosts", 5, "name"], "server07");
    });
    const server06 = lab.emu.state.vms.get(215)!;
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.rc).toBe(1);
    expect(plan.stdout).toContain(`! VM server07 (215) (VMID 215 is this cluster's VM server06 on ${server06.node}, which the spec no longer names: `
      + "server06 renamed to server07? starbase never renames a VM: put the name server06 back in the spec, or delete VM 215 first");
    expect(plan.stdout).not.toContain("another vmid");
    // The old VM is explained once, by the host that wants its VMID, not listed as removed as well.
    expect(plan.stdout).not.toContain("- VM server06");

    const before = lab.emu.requestLog.length;
    const apply = await applyInfra(lab);
    expect(apply.rc).toBe(1);
    expect(mutating(lab.emu.requestLog.slice(before)).filter((e) => e.path.includes("/qemu"))).toEqual([]);
    expect(lab.emu.state.vms.get(215)?.config.name).toBe("server06");

    lab.editSpec((doc) => doc.setIn(["nodes", "servers", "hosts", 5, "name"], "server06"));
    const back = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(back.rc).toBe(0);
  });
});
