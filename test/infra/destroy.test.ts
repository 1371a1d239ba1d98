// destroy removes what carries this cluster's tags and seed names, and nothing else.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ApiClient } from "../emulator/client.ts";
import { applyInfra, type Lab, mutating, repo, starbase, startLab } from "./harness.ts";

/** destroy on a terminal (script(1) gives it a pty), answering the prompt with `answer`. */
async function destroyOnTerminal(lab: Lab, answer: string): Promise<{ rc: number; output: string }> {
  const command = `${process.execPath} ${join(repo, "src", "main.ts")} destroy ${lab.specFile}`;
  const proc = Bun.spawn(["script", "-qfec", command, "/dev/null"], {
    cwd: lab.dir,
    env: { ...process.env, ...lab.env, TERM: "xterm", NO_COLOR: "1" },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
  });
  let output = "";
  const reading = (async () => {
    for await (const chunk of proc.stdout) output += new TextDecoder().decode(chunk);
  })();
  while (!output.includes("Type the cluster name (homelab) to go on:")) {
    if (proc.exitCode !== null) throw new Error(`destroy ended before asking:\n${output}`);
    await Bun.sleep(20);
  }
  proc.stdin.write(`${answer}\n`);
  await proc.stdin.flush();
  const rc = await proc.exited;
  await reading;
  return { rc, output };
}

describe("destroy", () => {
  let lab: Lab;
  let api: ApiClient;
  const foreignIsos = ["local:iso/starbase-other-lb01-0123456789ab.iso", "local:iso/starbase_other_lb01_0123456789ab.iso", "local:iso/starbase-homelab-lab-x-0123456789ab.iso", "local:iso/debian.iso"];
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

  test("on a terminal it lists what goes and wants the cluster name typed; another answer destroys nothing", async () => {
    const before = lab.emu.requestLog.length;
    const run = await destroyOnTerminal(lab, "homelab-typo");
    expect(run.rc).toBe(1);
    expect(run.output).toContain("This destroys 11 VMs and 11 seed ISOs of cluster homelab.");
    expect(run.output).toMatch(/- VM server01 \(210\) on node01 \(tagged starbase and starbase-homelab: stop it, then delete it with its disks\)/);
    expect(run.output).toContain("not confirmed: nothing destroyed");
    expect(mutating(lab.emu.requestLog.slice(before))).toEqual([]);
    expect(lab.emu.state.vms.size).toBe(14);
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

  test("apply after destroy builds the cluster again; the typed cluster name destroys it", async () => {
    const run = await applyInfra(lab);
    expect(run.rc).toBe(0);
    expect(lab.emu.state.vms.size).toBe(14);
    const destroyed = await destroyOnTerminal(lab, "homelab");
    expect(destroyed.rc).toBe(0);
    expect([...lab.emu.state.vms.keys()].sort()).toEqual([300, 301, 302]);
  });
});

describe("destroy checks every VM before it touches any", () => {
  test("a protected VM and a locked one: both named, nothing stopped or deleted; once cleared, destroy goes through", async () => {
    const lab = await startLab();
    try {
      expect((await applyInfra(lab)).rc).toBe(0);
      const api = new ApiClient(lab.emu);
      const protectedVm = lab.emu.state.vms.get(211)!;
      const lockedVm = lab.emu.state.vms.get(222)!;
      expect((await api.run("POST", `/nodes/${protectedVm.node}/qemu/211/config`, { protection: 1 })).status.exitstatus).toBe("OK");
      // A backup task holds agent03 (the config lock a running vzdump writes).
      lockedVm.config.lock = "backup";

      const before = lab.emu.requestLog.length;
      const run = await starbase(lab, ["destroy", lab.specFile, "--yes"]);
      expect(run.rc).toBe(1);
      expect(run.stderr).toContain(`VM server02 (211) on ${protectedVm.node}: protection is on`);
      expect(run.stderr).toContain("qm set 211 --protection 0");
      expect(run.stderr).toContain(`VM agent03 (222) on ${lockedVm.node}: locked (backup)`);
      expect(run.stderr).toContain("nothing destroyed: 2 VMs of cluster homelab cannot go as it is");
      expect(mutating(lab.emu.requestLog.slice(before))).toEqual([]);
      expect(lab.emu.state.vms.size).toBe(11);
      expect([...lab.emu.state.vms.values()].every((vm) => vm.running)).toBe(true);

      expect((await api.run("POST", `/nodes/${protectedVm.node}/qemu/211/config`, { delete: "protection" })).status.exitstatus).toBe("OK");
      delete lockedVm.config.lock;
      const again = await starbase(lab, ["destroy", lab.specFile, "--yes"]);
      expect(again.rc).toBe(0);
      expect(lab.emu.state.vms.size).toBe(0);
    } finally {
      await lab.stop();
    }
  }, 120_000);
});
