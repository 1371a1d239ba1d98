// Seed ISOs of two clusters on one Proxmox: cluster `home-lab` host `lb01` and cluster `home`
// host `lab-lb01` must never take each other's ISOs for their own, and no ISO that a VM's config
// names is ever deleted, whoever made it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { ApiClient } from "../emulator/client.ts";
import { applyInfra, type Lab, mutating, starbase, startLab } from "./harness.ts";

/** Every ISO a VM's config names, with whether it is on the VM's node. */
function attachedIsos(lab: Lab): { vmid: number; volid: string; present: boolean }[] {
  return [...lab.emu.state.vms.values()].flatMap((vm) => {
    const volid = vm.config.ide2?.split(",")[0];
    if (volid === undefined || !volid.includes(":iso/")) return [];
    return [{ vmid: vm.vmid, volid, present: lab.emu.state.volume(vm.node, volid) !== undefined }];
  });
}

const isoNames = (lab: Lab) => lab.emu.state.volumes.filter((v) => v.content === "iso").map((v) => `${v.node}:${v.volid}`).sort();

describe("seed ISOs of two clusters whose names run together", () => {
  let lab: Lab;
  let home: string;
  const homeLab = () => lab.specFile;
  beforeAll(async () => {
    lab = await startLab();
    // Cluster home-lab: the example with its hosts lb01, lb02, server01 … agent03.
    lab.editSpec((doc) => doc.set("name", "home-lab"));
    // Cluster home: hosts lab-lb01 and lab-server01, so that "home" + "lab-lb01" reads like "home-lab" + "lb01".
    const doc = parseDocument(readFileSync(lab.specFile, "utf8"));
    doc.set("name", "home");
    doc.setIn(["nodes", "loadBalancers", "hosts"], doc.createNode([{ name: "lab-lb01", ip: "10.0.20.24" }]));
    doc.setIn(["nodes", "loadBalancers", "vm", "vmidStart"], 300);
    doc.setIn(["nodes", "servers", "hosts"], doc.createNode([{ name: "lab-server01", ip: "10.0.20.51" }]));
    doc.setIn(["nodes", "servers", "vm", "vmidStart"], 310);
    doc.setIn(["nodes", "agents", "count"], 1);
    doc.setIn(["nodes", "agents", "ipStart"], "10.0.20.61");
    doc.setIn(["nodes", "agents", "vm", "vmidStart"], 320);
    doc.setIn(["nodes", "agents", "namePrefix"], "lab-agent");
    home = join(lab.dir, "home.yaml");
    writeFileSync(home, doc.toString());
  });
  afterAll(() => lab.stop());

  test("applying one cluster never removes the other's seed ISOs", async () => {
    expect((await applyInfra(lab)).rc).toBe(0);
    const homeLabIsos = isoNames(lab);
    const run = await starbase(lab, ["apply", home, "--phase", "infra"]);
    expect(run.rc).toBe(0);
    expect(run.stdout).not.toMatch(/- seed ISO/);
    for (const iso of homeLabIsos) expect(isoNames(lab)).toContain(iso);
    expect(attachedIsos(lab).filter((a) => !a.present)).toEqual([]);
    // Each cluster finds its own infra unchanged.
    for (const spec of [homeLab(), home]) {
      const plan = await starbase(lab, ["plan", spec, "--phase", "infra"]);
      expect(plan.stdout).not.toMatch(/^\s+[+~-] /m);
      expect(plan.rc).toBe(0);
    }
  });

  test("an ISO that another VM's config names is kept when its own host moves on to a new seed", async () => {
    const api = new ApiClient(lab.emu);
    const lb01 = lab.emu.state.vms.get(200)!;
    const oldSeed = lb01.config.ide2!.split(",")[0]!;
    const rescue = await api.run("POST", `/nodes/${lb01.node}/qemu`, { vmid: 400, name: "rescue", memory: 512, ide2: `${oldSeed},media=cdrom` });
    expect(rescue.status.exitstatus).toBe("OK");
    lab.editSpec((doc) => doc.setIn(["ssh", "authorizedKeys"], doc.createNode([
      "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPr7nh4XVBgm3aT3aDDAs7cRDbkvTM5HaNLbCj/5mjo8 second@laptop"])));
    const plan = await starbase(lab, ["plan", homeLab(), "--phase", "infra"]);
    expect(plan.rc).toBe(2);
    expect(plan.stdout).toContain(`= seed ISO ${oldSeed} on ${lb01.node} (kept: VM rescue (400) uses it`);
    const run = await applyInfra(lab, "--yes");
    expect(run.rc).toBe(0);
    // lb01 moved on; its old seed stays for the VM that uses it, the other hosts' old seeds went.
    expect(lab.emu.state.vms.get(200)!.config.ide2).not.toContain(oldSeed);
    expect(lab.emu.state.volume(lb01.node, oldSeed)).toBeDefined();
    expect(attachedIsos(lab).filter((a) => !a.present)).toEqual([]);
    const homeLabSeeds = lab.emu.state.volumes.filter((v) => v.content === "iso" && v.volid.includes("home-lab"));
    expect(homeLabSeeds).toHaveLength(12);
    // The next run keeps it again and changes nothing.
    const again = await applyInfra(lab);
    expect(again.rc).toBe(0);
    expect(again.stdout).toContain("No changes");
  });

  test("old-style names: removed when only this cluster's host can have made them, kept when another cluster's host could have", async () => {
    const api = new ApiClient(lab.emu);
    const lb02 = lab.emu.state.vms.get(201)!;
    const server01 = lab.emu.state.vms.get(210)!;
    // lb02 as an earlier starbase made it: its seed under the old name.
    const oldName = "local:iso/starbase-home-lab-lb02-0123456789ab.iso";
    lab.emu.putFile(lb02.node, oldName, "an old seed");
    expect((await api.run("POST", `/nodes/${lb02.node}/qemu/201/config`, { ide2: `${oldName},media=cdrom` })).status.exitstatus).toBe("OK");
    // Nobody uses this one, and "home-lab-server01" also reads as cluster home, host lab-server01.
    const ambiguous = "local:iso/starbase-home-lab-server01-0123456789ab.iso";
    lab.emu.putFile(server01.node, ambiguous, "whose?");

    const plan = await starbase(lab, ["plan", homeLab(), "--phase", "infra"]);
    expect(plan.rc).toBe(2);
    expect(plan.stdout).toContain(`- seed ISO ${oldName} on ${lb02.node}`);
    expect(plan.stdout).toMatch(new RegExp(`= seed ISO ${ambiguous} on ${server01.node} \\(kept: .*cluster home, host lab-server01`));
    // It removes stale seed ISOs: off a terminal that needs --yes.
    const run = await applyInfra(lab, "--yes");
    expect(run.rc).toBe(0);
    expect(lab.emu.state.vms.get(201)!.config.ide2).toMatch(/^local:iso\/starbase_home-lab_lb02_[0-9a-f]{12}\.iso,media=cdrom/);
    expect(lab.emu.state.volume(lb02.node, oldName)).toBeUndefined();
    expect(lab.emu.state.volume(server01.node, ambiguous)).toBeDefined();
  });

  test("destroy of one cluster takes only its own ISOs, and none that a surviving VM uses", async () => {
    const before = lab.emu.requestLog.length;
    const homeLabIsos = isoNames(lab).filter((iso) => !iso.includes("lab-lb01") && !iso.includes("lab-server01") && !iso.includes("lab-agent"));
    const run = await starbase(lab, ["destroy", home, "--yes"]);
    expect(run.rc).toBe(0);
    for (const iso of homeLabIsos) expect(isoNames(lab)).toContain(iso);
    expect(attachedIsos(lab).filter((a) => !a.present)).toEqual([]);
    expect(mutating(lab.emu.requestLog.slice(before)).filter((e) => e.path.includes("/qemu/2"))).toEqual([]);

    // home-lab's destroy leaves the seed VM 400 uses, and the old-style ISO that may be another cluster's.
    const rescueSeed = lab.emu.state.vms.get(400)!.config.ide2!.split(",")[0]!;
    const destroyed = await starbase(lab, ["destroy", homeLab(), "--yes"]);
    expect(destroyed.rc).toBe(0);
    expect([...lab.emu.state.vms.keys()]).toEqual([400]);
    const ambiguous = lab.emu.state.volumes.find((v) => v.volid === "local:iso/starbase-home-lab-server01-0123456789ab.iso");
    expect(ambiguous).toBeDefined();
    expect(isoNames(lab)).toEqual([`${lab.emu.state.vms.get(400)!.node}:${rescueSeed}`, `${ambiguous!.node}:${ambiguous!.volid}`].sort());
  });
});
