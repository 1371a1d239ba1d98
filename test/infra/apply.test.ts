// The infra phase end to end: the real CLI against the emulator, on examples/cluster.yaml.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { loadCluster } from "../../src/plan/load.ts";
import { hostKey } from "../../src/render/index.ts";
import { buildSeedImage } from "../../src/steps/infra/seed-image.ts";
import { DEFAULT_TOKEN } from "../emulator/options.ts";
import { runTool } from "../render/tools.ts";
import { applyInfra, HOSTKEY_SECRET, IMAGE, type Lab, mutating, restartVm, starbase, startLab } from "./harness.ts";

const IMAGE_FILE = `openSUSE-MicroOS.x86_64-OpenStack-Cloud-${IMAGE.sha256.slice(0, 12)}.qcow2`;
const GIB = 2 ** 30;

async function inventoryOf(lab: Lab) {
  const { inventory } = await loadCluster(lab.specFile, process.env);
  if (inventory === undefined) throw new Error("the patched example does not validate");
  return inventory;
}

function isos(lab: Lab) {
  return lab.emu.state.volumes.filter((v) => v.content === "iso").map((v) => v.volid).sort();
}

function rejected(lab: Lab, from = 0) {
  return lab.emu.requestLog.slice(from).filter((e) => e.status !== undefined && e.status >= 400);
}

describe("apply --phase infra on examples/cluster.yaml", () => {
  let lab: Lab;
  beforeAll(async () => {
    // pvestatd samples only when a test says so (emu.sample()): the request counts below depend on it.
    lab = await startLab({ emulator: { sampleMs: Number.POSITIVE_INFINITY } });
  });
  afterAll(() => lab.stop());

  test("a fresh apply creates the 11 VMs, an image per node and a seed ISO per VM", async () => {
    const run = await applyInfra(lab);
    expect(run.stderr).not.toContain("error");
    expect(run.rc).toBe(0);
    expect(run.stdout).toContain("Changes made:");
    const inv = await inventoryOf(lab);
    const { vms } = lab.emu.state;
    expect([...vms.values()].map((vm) => vm.config.name).sort()).toEqual(inv.hosts.map((h) => h.name).sort());
    for (const host of inv.hosts) {
      const vm = vms.get(host.vmid)!;
      expect(vm.node).toBe(host.pveNode);
      expect(vm.running).toBe(true);
      const c = vm.config;
      expect(c.name).toBe(host.name);
      expect(c.scsihw).toBe("virtio-scsi-single");
      expect(c.scsi0).toMatch(new RegExp(`^local-lvm:vm-${host.vmid}-disk-0,.*size=${host.vm.disk}G`));
      expect(c.scsi0).toContain("discard=on");
      expect(c.scsi0).toContain("iothread=1");
      expect(Number(c.cores)).toBe(host.vm.cores);
      expect(Number(c.memory)).toBe(host.vm.memory);
      expect(c.net0).toMatch(/^virtio=[0-9A-F:]{17},bridge=vmbr0(,.*)?,tag=20$/);
      expect(c.ide2).toMatch(new RegExp(`^local:iso/starbase_homelab_${host.name}_[0-9a-f]{12}\\.iso,media=cdrom(,size=\\d+K)?$`));
      expect(c).toMatchObject({ serial0: "socket", vga: "serial0", agent: "enabled=1", ostype: "l26", boot: "order=scsi0", cpu: "x86-64-v2-AES" });
      // A fixed set of tags, whatever the settings: an administrator who restricts tags allows them once.
      expect(c.tags).toBe(["starbase", "starbase-homelab", `starbase-${host.role}`].sort().join(";"));
    }
    const images = lab.emu.state.volumes.filter((v) => v.content === "import");
    expect(images.map((v) => [v.node, v.volid]).sort()).toEqual(["node01", "node02", "node03"].map((n) => [n, `local:import/${IMAGE_FILE}`]));
    expect(images.every((v) => v.checksums?.sha256 === IMAGE.sha256)).toBe(true);
    expect(isos(lab)).toHaveLength(11);
    const disks = lab.emu.state.volumes.filter((v) => v.content === "images");
    expect(disks).toHaveLength(11);
    for (const host of inv.hosts) expect(disks.find((d) => d.vmid === host.vmid)?.size).toBe(host.vm.disk * GIB);
    expect(rejected(lab)).toEqual([]);
    for (const secret of [DEFAULT_TOKEN.secret, HOSTKEY_SECRET]) expect(run.stdout + run.stderr).not.toContain(secret);
  });

  test("each seed ISO is the rendered NoCloud seed with the host's derived key (read with xorriso and isoinfo)", async () => {
    const inv = await inventoryOf(lab);
    for (const host of [inv.hosts[0]!, inv.hosts[5]!]) {
      const seed = buildSeedImage(inv, host, { hostKeySecret: HOSTKEY_SECRET });
      const stored = lab.emu.state.volumes.find((v) => v.volid === seed.volid && v.node === host.pveNode);
      // The emulator keeps the checksum of what it received: the bytes on Proxmox are exactly these.
      expect(stored?.checksums?.sha256).toBe(createHash("sha256").update(seed.bytes).digest("hex"));
      expect(stored?.size).toBe(seed.bytes.length);
      const iso = join(lab.dir, `${host.name}.iso`);
      writeFileSync(iso, seed.bytes);
      const label = runTool(["isoinfo", "-d", "-i", iso]);
      expect(label.stdout).toMatch(/Volume id: cidata/);
      const listing = runTool(["xorriso", "-indev", iso, "-find", "/", "-type", "f"]);
      expect(listing.code).toBe(0);
      expect(listing.stdout.split("\n").filter((l) => l.startsWith("'")).sort()).toEqual(["'/meta-data'", "'/network-config'", "'/user-data'"]);
      const out = join(lab.dir, `${host.name}-files`);
      const extract = runTool(["xorriso", "-osirrox", "on", "-indev", iso, "-extract", "/", out]);
      expect(extract.code).toBe(0);
      const userData = readFileSync(join(out, "user-data"), "utf8");
      expect(userData.startsWith("#cloud-config\n")).toBe(true);
      expect(userData).toContain(hostKey(HOSTKEY_SECRET, "homelab", host.name).publicKey);
      expect(userData).toContain(`hostname: ${host.name}`);
      expect(readFileSync(join(out, "network-config"), "utf8")).toContain(host.ip);
    }
  });

  test("a second apply changes nothing and sends no mutating request; plan exits 0", async () => {
    const before = lab.emu.requestLog.length;
    const again = await applyInfra(lab);
    expect(again.rc).toBe(0);
    expect(again.stdout).toContain("No changes");
    const requests = lab.emu.requestLog.slice(before);
    expect(mutating(requests)).toEqual([]);
    // One config read per VM; the status only of a VM whose sample is not "running" (none of them
    // yet: pvestatd has not sampled them); the rest grows with nodes: /version, /cluster/resources,
    // one content listing per node.
    const perVm = (suffix: string) => requests.filter((e) => e.path.endsWith(suffix)).map((e) => Number(/\/qemu\/(\d+)\//.exec(e.path)?.[1])).sort();
    const vmids = [...lab.emu.state.vms.keys()].sort();
    expect(perVm("/pending")).toEqual(vmids);
    expect(perVm("/status/current")).toEqual(vmids);
    expect(requests.length - 2 * vmids.length).toBeLessThanOrEqual(10);
    lab.emu.sample();
    const sampled = lab.emu.requestLog.length;
    expect((await applyInfra(lab)).stdout).toContain("No changes");
    expect(lab.emu.requestLog.slice(sampled).filter((e) => e.path.endsWith("/status/current"))).toEqual([]);

    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra", "--output", "json"]);
    expect(plan.rc).toBe(0);
    const result = JSON.parse(plan.stdout.trim().split("\n").at(-1)!);
    expect(result).toMatchObject({ type: "plan", offline: false, counts: { create: 0, change: 0, remove: 0, blocked: 0 } });
    expect(result.steps.every((s: { changes: { op: string }[] }) => s.changes.length > 0 && s.changes.every((c) => c.op === "="))).toBe(true);
  });

  test("a changed spec: plan lists field: old → new and exits 2, apply changes the VMs in place", async () => {
    const inv = await inventoryOf(lab);
    const oldSeeds = isos(lab);
    const vmidsBefore = [...lab.emu.state.vms.keys()].sort();
    lab.editSpec((doc) => {
      doc.setIn(["nodes", "servers", "vm", "cores"], 6);
      doc.setIn(["nodes", "servers", "vm", "memory"], 12288);
      doc.setIn(["ssh", "authorizedKeys"], doc.createNode([...inv.spec.ssh.authorizedKeys, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPr7nh4XVBgm3aT3aDDAs7cRDbkvTM5HaNLbCj/5mjo8 second@laptop"]));
    });
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.rc).toBe(2);
    expect(plan.stdout).toContain("~ VM server01 (210) cores: 4 → 6");
    expect(plan.stdout).toMatch(/\+ seed ISO local:iso\/starbase_homelab_lb01_[0-9a-f]{12}\.iso on node01/);
    expect(plan.stdout).toMatch(/~ VM lb01 \(200\) ide2: local:iso\/starbase_homelab_lb01_[0-9a-f]{12}\.iso,media=cdrom(,size=\d+K)? → local:iso\/starbase_homelab_lb01_[0-9a-f]{12}\.iso,media=cdrom \(differs from the spec\)/);
    expect(plan.stdout).toMatch(/= image local:import\/\S+ on node01/);
    const planJson = await starbase(lab, ["plan", lab.specFile, "--phase", "infra", "--output", "json"]);
    const steps = JSON.parse(planJson.stdout.trim().split("\n").at(-1)!).steps as { id: string; changes: Record<string, string>[] }[];
    expect(steps.find((s) => s.id === "vm:server02")!.changes).toContainEqual(expect.objectContaining({ op: "~", field: "cores", from: "4", to: "6" }));

    const before = lab.emu.requestLog.length;
    // The replaced seeds are removed: off a terminal that needs --yes.
    const apply = await applyInfra(lab, "--yes");
    expect(apply.rc).toBe(0);
    const requests = lab.emu.requestLog.slice(before);
    expect(requests.filter((e) => e.method === "POST" && /\/qemu$/.test(e.path))).toEqual([]);
    expect([...lab.emu.state.vms.keys()].sort()).toEqual(vmidsBefore);
    // The servers run: Proxmox keeps their new core count pending until they start again.
    for (const host of inv.servers) {
      const vm = lab.emu.state.vms.get(host.vmid)!;
      expect(vm.config).toMatchObject({ cores: "4", memory: "8192", balloon: "12288" });
      expect(vm.pending).toEqual({ cores: "6", memory: "12288" });
    }
    // New seeds attached, the replaced ones deleted.
    const seeds = isos(lab);
    expect(seeds).toHaveLength(11);
    expect(seeds.filter((s) => oldSeeds.includes(s))).toEqual([]);
    for (const vm of lab.emu.state.vms.values()) expect(seeds).toContain(vm.config.ide2!.split(",")[0]!);
    expect(rejected(lab, before)).toEqual([]);

    // Pending is not done: plan and apply keep saying so, and apply sends nothing again.
    const pendingPlan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(pendingPlan.rc).toBe(2);
    expect(pendingPlan.stdout).toContain("~ VM server01 (210) cores: 4 → 6 (pending until restart: Proxmox applies it when the VM is next started");
    expect(pendingPlan.stdout).toContain("~ VM server01 (210) memory: 8192 → 12288 (pending until restart");
    const beforeAgain = lab.emu.requestLog.length;
    const again = await applyInfra(lab);
    expect(again.rc).toBe(0);
    expect(mutating(lab.emu.requestLog.slice(beforeAgain))).toEqual([]);
    expect(again.stdout).toContain("Waiting for a restart of the VM:\n  ~ VM server01 (210) cores: 4 → 6 (pending until restart");
    expect(again.stdout).not.toContain("matches the spec (");

    // An operator restarts the servers: the change is active, and nothing is left to do or to say.
    for (const host of inv.servers) await restartVm(lab, host.pveNode, host.vmid);
    const settledPlan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(settledPlan.rc).toBe(0);
    const beforeSettled = lab.emu.requestLog.length;
    const settled = await applyInfra(lab);
    expect(settled.rc).toBe(0);
    expect(settled.stdout).toContain("No changes: the infra of homelab matches the spec");
    expect(mutating(lab.emu.requestLog.slice(beforeSettled))).toEqual([]);
  });

  test("a disk smaller than the VM's is refused with the reason, and nothing is done", async () => {
    lab.editSpec((doc) => doc.setIn(["nodes", "agents", "vm", "disk"], 90));
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.rc).toBe(1);
    expect(plan.stdout).toContain("! VM agent01 (220) scsi0 size: 100G → 90G (Proxmox cannot shrink a disk");
    const before = lab.emu.requestLog.length;
    const apply = await applyInfra(lab);
    expect(apply.rc).toBe(1);
    expect(apply.stderr).toContain("cannot shrink");
    expect(apply.stderr).toMatch(/vm:agent01/);
    expect(lab.emu.requestLog.slice(before).filter((e) => e.path.endsWith("/resize"))).toEqual([]);
    expect(lab.emu.state.volumes.find((v) => v.vmid === 220)?.size).toBe(100 * GIB);
    lab.editSpec((doc) => doc.setIn(["nodes", "agents", "vm", "disk"], 100));
  });
});
