// destroy removes what carries this cluster's tags and seed names, and nothing else.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiClient } from "../emulator/client.ts";
import { applyInfra, type Lab, mutating, starbase, startLab } from "./harness.ts";

describe("destroy", () => {
  let lab: Lab;
  let api: ApiClient;
  const foreignIsos = ["local:iso/starbase-other-lb01-0123456789ab.iso", "local:iso/starbase-homelab-lab-x-0123456789ab.iso", "local:iso/debian.iso"];
  beforeAll(async () => {
    lab = await startLab();
    api = new ApiClient(lab.emu);
    expect((await applyInfra(lab)).rc).toBe(0);
    // Not ours: only the generic tag, another cluster's tag, no tags at all.
    for (const [vmid, name, tags] of [[300, "lonely", "starbase"], [301, "other", "starbase;starbase-other"], [302, "plain", ""]] as const) {
      const created = await api.run("POST", "/nodes/node01/qemu", { vmid, name, ...(tags !== "" && { tags }), memory: 512 });
      expect(created.status.exitstatus).toBe("OK");
    }
    for (const volid of foreignIsos) lab.emu.putFile("node01", volid, "not a seed");
  });
  afterAll(() => lab.stop());

  test("without a terminal it needs --yes, and does nothing without it", async () => {
    const before = lab.emu.requestLog.length;
    const run = await starbase(lab, ["destroy", lab.specFile]);
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("pass --yes");
    expect(lab.emu.requestLog.length).toBe(before);
  });

  test("--yes stops and deletes the cluster's VMs with their disks and its seed ISOs; the rest stays", async () => {
    const before = lab.emu.requestLog.length;
    const run = await starbase(lab, ["destroy", lab.specFile, "--yes"]);
    expect(run.stderr).not.toContain("error");
    expect(run.rc).toBe(0);
    expect(run.stdout).toContain("Images in local:import are kept");
    expect([...lab.emu.state.vms.keys()].sort()).toEqual([300, 301, 302]);
    const left = lab.emu.state.volumes.map((v) => v.volid);
    expect(left.filter((v) => v.includes(":iso/")).sort()).toEqual([...foreignIsos].sort());
    expect(left.filter((v) => v.includes(":import/"))).toHaveLength(3);
    expect(lab.emu.state.volumes.filter((v) => v.content === "images" && v.vmid !== undefined && v.vmid < 300)).toEqual([]);

    const requests = lab.emu.requestLog.slice(before);
    const deletes = requests.filter((e) => e.method === "DELETE" && /\/qemu\/\d+$/.test(e.path));
    expect(deletes).toHaveLength(11);
    for (const d of deletes) expect(d.params).toMatchObject({ purge: "1", "destroy-unreferenced-disks": "1" });
    // Each VM was stopped before it was deleted.
    for (const d of deletes) {
      const stop = requests.findIndex((e) => e.method === "POST" && e.path === `${d.path}/status/stop`);
      expect(stop).toBeGreaterThanOrEqual(0);
      expect(stop).toBeLessThan(requests.indexOf(d));
    }
    expect(requests.filter((e) => e.status !== undefined && e.status >= 400)).toEqual([]);
  });

  test("a second destroy finds nothing and changes nothing", async () => {
    const before = lab.emu.requestLog.length;
    const run = await starbase(lab, ["destroy", lab.specFile, "--yes"]);
    expect(run.rc).toBe(0);
    expect(run.stdout).toContain("Nothing to destroy");
    expect(mutating(lab.emu.requestLog.slice(before))).toEqual([]);
  });

  test("apply after destroy builds the cluster again", async () => {
    const run = await applyInfra(lab);
    expect(run.rc).toBe(0);
    expect(lab.emu.state.vms.size).toBe(14);
  });
});
