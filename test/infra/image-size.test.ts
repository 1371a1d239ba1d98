// A disk smaller than the image: Proxmox imports the image at its virtual size and cannot
// shrink it, so such a VM is refused before it is created — by plan once the image is on the
// node (its virtual size comes from GET …/content/{volume}), by apply right after the download.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { applyInfra, IMAGE, type Lab, starbase, startLab } from "./harness.ts";

const IMAGE_GIB = IMAGE.virtualSize / 2 ** 30;
const REFUSAL = `more than the 5 GiB disk the spec gives lb01, and Proxmox cannot shrink the imported disk: set nodes.loadBalancers.vm.disk to ${IMAGE_GIB} or more`;

describe("a disk smaller than the image's virtual size", () => {
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab();
    lab.editSpec((doc) => doc.setIn(["nodes", "loadBalancers", "vm", "disk"], 5));
  });
  afterAll(() => lab.stop());

  test("on a fresh cluster plan cannot know the size yet and says when it is checked", async () => {
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.rc).toBe(2);
    expect(plan.stdout).toMatch(/\+ VM lb01 \(200\) on node01 \(not in Proxmox: .*; its disk is checked against the image's virtual size once the image is downloaded\)/);
  });

  test("apply refuses those VMs after the download and before creating them; the others are created", async () => {
    const run = await applyInfra(lab);
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain(REFUSAL);
    const creates = lab.emu.requestLog.filter((e) => e.method === "POST" && e.path.endsWith("/qemu")).map((e) => Number(e.params.vmid));
    expect(creates).not.toContain(200);
    expect(creates).not.toContain(201);
    expect([...lab.emu.state.vms.keys()].sort()).toEqual([210, 211, 212, 213, 214, 215, 220, 221, 222]);
  });

  test("with the image on the nodes, plan refuses them with the image's virtual size", async () => {
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.rc).toBe(1);
    expect(plan.stdout).toContain(`! VM lb01 (200) (the image local:import/`);
    expect(plan.stdout).toContain(`has a virtual size of ${IMAGE_GIB} GiB, ${REFUSAL})`);
    expect(plan.stdout).toMatch(/! VM lb02 \(201\) \(the image .* more than the 5 GiB disk the spec gives lb02/);

    lab.editSpec((doc) => doc.setIn(["nodes", "loadBalancers", "vm", "disk"], IMAGE_GIB));
    const fixed = await applyInfra(lab);
    expect(fixed.rc).toBe(0);
    expect(lab.emu.state.vms.get(200)?.config.scsi0).toMatch(new RegExp(`size=${IMAGE_GIB}G`));
  });
});
