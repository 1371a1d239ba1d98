// An administrator may restrict the tags a token without Sys.Modify on / sets (datacenter
// options user-tag-access and registered-tags). starbase keeps to a fixed set of tags that can
// be allowed once, and its preflight names the setting or privilege a refused tag needs before
// anything is changed.
import { afterEach, describe, expect, test } from "bun:test";
import { DEFAULT_TOKEN, type EmulatorOptions } from "../emulator/options.ts";
import { rolePrivileges } from "../../src/steps/infra/privileges.ts";
import { applyInfra, type Lab, mutating, startLab } from "./harness.ts";

const STARBASE_TAGS = "starbase;starbase-agent;starbase-homelab;starbase-loadbalancer;starbase-server";
const ALLOW_STARBASE = `user-allow=list,user-allow-list=${STARBASE_TAGS}`;
/** The documented privileges: Sys.Audit on /, not Sys.Modify. */
// starbase's role, and Sys.Audit on / to read the tag settings (the last test goes without).
const TOKEN = { ...DEFAULT_TOKEN, privileges: [...rolePrivileges(), "Sys.Audit"] };

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

async function restrictedLab(emulator: EmulatorOptions): Promise<Lab> {
  // Samples at every read: the lag of /cluster/resources is lag.test.ts's subject, not this one's.
  lab = await startLab({ emulator: { tokens: [TOKEN], sampleMs: 0, ...emulator } });
  return lab;
}

const creates = (l: Lab) => l.emu.requestLog.filter((e) => e.method === "POST" && /\/qemu$/.test(e.path));

describe("restricted tags", () => {
  test("user-allow=list with starbase's tags: create, change and no-op all pass, and a change leaves the tags alone", async () => {
    const l = await restrictedLab({ datacenter: { "user-tag-access": ALLOW_STARBASE } });
    expect((await applyInfra(l)).rc).toBe(0);
    // A balloon floor: a change a running VM takes at once (cores would wait for a restart).
    l.editSpec((doc) => doc.setIn(["nodes", "agents", "vm", "balloon"], 4096));
    const before = l.emu.requestLog.length;
    const change = await applyInfra(l);
    expect(change.stderr).not.toContain("Permission check failed");
    expect(change.rc).toBe(0);
    const updates = l.emu.requestLog.slice(before).filter((e) => e.method === "POST" && e.path.endsWith("/config"));
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.filter((e) => e.params.tags !== undefined)).toEqual([]);
    expect(l.emu.state.vms.get(220)!.config.balloon).toBe("4096");
    expect((await applyInfra(l)).stdout).toContain("No changes");
  });

  test("the config-hash tags of earlier versions: removed where allowed, else the exact setting to allow them", async () => {
    const l = await restrictedLab({});
    expect((await applyInfra(l)).rc).toBe(0);
    const legacy = (vmid: number) => `starbase-cfg-${(0x0a000000 + vmid).toString(16)}`;
    for (const vm of l.emu.state.vms.values()) vm.config.tags = [...vm.config.tags!.split(";"), legacy(vm.vmid)].sort().join(";");
    l.emu.setDatacenter({ "user-tag-access": ALLOW_STARBASE });

    const before = l.emu.requestLog.length;
    const refused = await applyInfra(l);
    expect(refused.rc).toBe(1);
    const allLegacy = [...l.emu.state.vms.keys()].map(legacy).sort();
    expect(refused.stderr).toContain(`does not let this token set or remove the tags ${allLegacy.join(", ")}`);
    const setting = /pvesh set \/cluster\/options --user-tag-access '([^']+)'/.exec(refused.stderr)?.[1];
    expect(setting).toBe(`user-allow=list,user-allow-list=${[...STARBASE_TAGS.split(";"), ...allLegacy].sort().join(";")}`);
    expect(refused.stderr).toContain(`pveum acl modify / --tokens '${DEFAULT_TOKEN.id}' --roles <a role with Sys.Modify>`);
    expect(mutating(l.emu.requestLog.slice(before))).toEqual([]);
    expect([...l.emu.state.vms.values()].every((vm) => vm.config.tags!.includes("starbase-cfg-"))).toBe(true);

    // What the preflight said to set lets the run remove them.
    l.emu.setDatacenter({ "user-tag-access": setting! });
    const removed = await applyInfra(l);
    expect(removed.rc).toBe(0);
    expect(removed.stdout).toContain("(starbase no longer tags the config hash)");
    for (const vm of l.emu.state.vms.values()) expect(vm.config.tags).not.toContain("starbase-cfg-");
  });

  test("user-allow=existing lets the old config-hash tags go without any setting", async () => {
    const l = await restrictedLab({});
    expect((await applyInfra(l)).rc).toBe(0);
    for (const vm of l.emu.state.vms.values()) vm.config.tags = `${vm.config.tags};starbase-cfg-0123abcd`;
    l.emu.setDatacenter({ "user-tag-access": "user-allow=existing" });
    expect((await applyInfra(l)).rc).toBe(0);
    for (const vm of l.emu.state.vms.values()) expect(vm.config.tags).not.toContain("starbase-cfg-");
  });

  test("9.2 checks the tags of a new VM after the import: refused up front with what to set, nothing created", async () => {
    const l = await restrictedLab({ version: "9.2", datacenter: { "user-tag-access": ALLOW_STARBASE } });
    const run = await applyInfra(l);
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("Proxmox checks the tags of a new VM at its creation");
    expect(run.stderr).toContain("pvesh set /cluster/options --user-tag-access user-allow=free");
    expect(run.stderr).toContain(`pveum acl modify / --tokens '${DEFAULT_TOKEN.id}' --roles <a role with Sys.Modify>`);
    expect(creates(l)).toEqual([]);
    expect(mutating(l.emu.requestLog)).toEqual([]);
  });

  test("9.2 with Sys.Modify on /, or user-allow=free: the VMs are created with their tags", async () => {
    const l = await restrictedLab({ version: "9.2", datacenter: { "user-tag-access": ALLOW_STARBASE }, tokens: [{ ...TOKEN, privileges: [...TOKEN.privileges, "Sys.Modify"] }] });
    expect((await applyInfra(l)).rc).toBe(0);
    expect(l.emu.state.vms.size).toBe(11);
  });

  test("a registered tag starbase needs: refused up front with the registered-tags setting that frees it", async () => {
    const l = await restrictedLab({ version: "9.2", datacenter: { "registered-tags": "prod;starbase" } });
    const run = await applyInfra(l);
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("the datacenter option registered-tags holds starbase, which only a token with Sys.Modify on / may set or remove");
    expect(run.stderr).toContain("pvesh set /cluster/options --registered-tags 'prod'");
    expect(creates(l)).toEqual([]);
  });

  test("a token that cannot read the tag settings (no Sys.Audit on /): a warning, and the run goes on", async () => {
    const privileges = rolePrivileges();
    const l = await restrictedLab({ version: "9.2", tokens: [{ ...TOKEN, privileges }] });
    const run = await applyInfra(l);
    expect(run.stderr).toContain("warning: cannot check whether Proxmox lets token");
    expect(run.stderr).toContain("readable only with Sys.Audit on /");
    expect(run.rc).toBe(0);
    expect(l.emu.state.vms.size).toBe(11);
  });
});
