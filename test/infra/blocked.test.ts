// Differences that would need a VM to be re-created, or a VMID someone else uses, are
// reported with what to do and never acted on; the other VMs still converge.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiClient } from "../emulator/client.ts";
import { applyInfra, type Lab, mutating, starbase, startLab } from "./harness.ts";

describe("changes starbase never makes silently", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab();
    expect((await applyInfra(lab)).rc).toBe(0);
  });
  afterAll(() => lab.stop());

  const hostEntry = (doc: Parameters<Parameters<Lab["editSpec"]>[0]>[0], index: number, values: Record<string, unknown>) => {
    for (const [key, value] of Object.entries(values)) doc.setIn(["nodes", "servers", "hosts", index, key], value);
  };

  test("a VM on another node than the spec's: reported, not moved", async () => {
    lab.editSpec((doc) => hostEntry(doc, 0, { pveNode: "node02" }));
    const before = lab.emu.requestLog.length;
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.rc).toBe(1);
    expect(plan.stdout).toContain("! VM server01 (210) (runs on node01 but the spec places it on node02; starbase never moves a VM");
    const apply = await applyInfra(lab);
    expect(apply.rc).toBe(1);
    expect(apply.stderr).toContain("pin pveNode: node01 for server01");
    expect(lab.emu.state.vms.get(210)?.node).toBe("node01");
    // Nothing touched the VM; only its seed for the new placement went to node02.
    const touched = mutating(lab.emu.requestLog.slice(before)).filter((e) => e.path.includes("/qemu"));
    expect(touched).toEqual([]);
    const seedsOfServer01 = () => lab.emu.state.volumes.filter((v) => v.volid.includes("starbase_homelab_server01_")).map((v) => v.node);
    expect(seedsOfServer01().sort()).toEqual(["node01", "node02"]);
    // Back to the VM's node: the seed left on node02 goes (a removal: --yes off a terminal).
    lab.editSpec((doc) => doc.deleteIn(["nodes", "servers", "hosts", 0, "pveNode"]));
    expect((await applyInfra(lab, "--yes")).rc).toBe(0);
    expect(seedsOfServer01()).toEqual(["node01"]);
  });

  test("a new VMID for an existing host: reported with both ways out", async () => {
    lab.editSpec((doc) => hostEntry(doc, 1, { vmid: 250 }));
    const run = await applyInfra(lab);
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("a VM named server02 of cluster homelab exists as VMID 211 on node02, but the spec gives it VMID 250");
    expect(run.stderr).toContain("destroy VM 211 or set vmid: 211 for server02");
    expect(lab.emu.state.vms.has(250)).toBe(false);
    lab.editSpec((doc) => doc.deleteIn(["nodes", "servers", "hosts", 1, "vmid"]));
  });

  test("a VMID taken by a VM that is not this cluster's: that host is refused, the others converge", async () => {
    const api = new ApiClient(lab.emu);
    await api.run("POST", "/nodes/node03/qemu", { vmid: 260, name: "someone-else", memory: 512 });
    lab.editSpec((doc) => {
      const hosts = doc.getIn(["nodes", "servers", "hosts"]) as { add(v: unknown): void };
      hosts.add(doc.createNode({ name: "server07", ip: "10.0.20.37", vmid: 260 }));
      hosts.add(doc.createNode({ name: "server08", ip: "10.0.20.38" }));
    });
    const run = await applyInfra(lab);
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("VMID 260 is taken by VM someone-else on node03, which is not server07 of cluster homelab");
    expect(lab.emu.state.vms.get(260)?.config.name).toBe("someone-else");
    expect(lab.emu.state.vms.get(260)?.config.tags).toBeUndefined();
    expect([...lab.emu.state.vms.values()].some((vm) => vm.config.name === "server08")).toBe(true);
  });

  test("a VMID held by a container: refused up front, naming the CT and its node; no create is tried", async () => {
    lab.emu.addContainer({ vmid: 270, node: "node02", name: "web", running: true });
    lab.editSpec((doc) => {
      const hosts = doc.getIn(["nodes", "servers", "hosts"]) as { add(v: unknown): void };
      hosts.add(doc.createNode({ name: "server09", ip: "10.0.20.39", vmid: 270 }));
    });
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.rc).toBe(1);
    expect(plan.stdout).toContain("! VM server09 (270) (VMID 270 is used by container web (CT) on node02");
    const before = lab.emu.requestLog.length;
    const run = await applyInfra(lab);
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("VMID 270 is used by container web (CT) on node02; VMs and containers share VMIDs: give server09 another vmid");
    expect(lab.emu.requestLog.slice(before).filter((e) => e.method === "POST" && e.params.vmid === "270")).toEqual([]);
    expect(lab.emu.state.vms.has(270)).toBe(false);
  });
});
