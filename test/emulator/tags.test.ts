// Tag restrictions (datacenter user-tag-access and registered-tags): what GET /cluster/options
// shows, where Proxmox checks a tag change (the qmconfig worker; qmcreate from 9.2) and its texts.
import { afterEach, describe, expect, test } from "bun:test";
import { ApiClient, emulatorForTest, tokenHeader } from "./client.ts";
import type { EmulatorOptions } from "./options.ts";
import type { Emulator } from "./server.ts";

const ADMIN = { id: "admin@pve!ci", secret: "11111111-2222-3333-4444-555555555555" };
const VM_PRIVILEGES = ["VM.Allocate", "VM.Audit", "VM.Config.Options", "VM.Config.Memory", "VM.Config.Disk", "Datastore.AllocateSpace", "Datastore.Audit"];
const USER = { id: "user@pve!tags", secret: "66666666-7777-8888-9999-000000000000", privileges: ["Sys.Audit", ...VM_PRIVILEGES] };
const NO_AUDIT = { id: "plain@pve!tags", secret: "77777777-7777-8888-9999-000000000000", privileges: VM_PRIVILEGES };
const PRIVILEGED = { id: "boss@pve!tags", secret: "88888888-7777-8888-9999-000000000000", privileges: ["Sys.Modify", ...USER.privileges] };

const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.stop()));
});

async function cluster(options: EmulatorOptions) {
  const { emulator } = await emulatorForTest({ nodes: ["n1"], tokens: [ADMIN, USER, NO_AUDIT, PRIVILEGED], ...options });
  running.push(emulator);
  const as = (token: { id: string; secret: string }) => new ApiClient(emulator, tokenHeader(token.id, token.secret));
  return { emulator, admin: as(ADMIN), user: as(USER), plain: as(NO_AUDIT), boss: as(PRIVILEGED) };
}

describe("GET /cluster/options", () => {
  test("with Sys.Audit on /: the parsed datacenter.cfg and the tags this token may set; without: only those tags", async () => {
    const { admin, user, plain } = await cluster({ datacenter: { "user-tag-access": "user-allow=list,user-allow-list=web;db", "registered-tags": "prod" } });
    await admin.run("POST", "/nodes/n1/qemu", { vmid: 100, tags: "legacy;prod" });
    expect((await user.call("GET", "/cluster/options")).body.data).toEqual({
      keyboard: "en-us",
      "user-tag-access": { "user-allow": "list", "user-allow-list": ["web", "db"] },
      "registered-tags": ["prod"],
      "allowed-tags": ["db", "web"],
    });
    expect((await plain.call("GET", "/cluster/options")).body.data).toEqual({ "allowed-tags": ["db", "web"] });
    // A privileged token may set the list, every existing tag and the registered ones.
    expect((await admin.call("GET", "/cluster/options")).body.data["allowed-tags"]).toEqual(["db", "legacy", "prod", "web"]);
  });

  test("`existing` adds the tags of the VMs the token can audit; `none` allows nothing", async () => {
    const existing = await cluster({ datacenter: { "user-tag-access": "user-allow=existing,user-allow-list=web" } });
    await existing.admin.run("POST", "/nodes/n1/qemu", { vmid: 100, tags: "old" });
    expect((await existing.user.call("GET", "/cluster/options")).body.data["allowed-tags"]).toEqual(["old", "web"]);
    const none = await cluster({ datacenter: { "user-tag-access": "user-allow=none,user-allow-list=web" } });
    expect((await none.user.call("GET", "/cluster/options")).body.data["allowed-tags"]).toEqual([]);
  });
});

describe("GET /access/permissions", () => {
  test("a token's own privileges on a path", async () => {
    const { user, boss } = await cluster({});
    const mine = (await user.call("GET", "/access/permissions", { path: "/" })).body.data;
    expect(Object.keys(mine)).toEqual(["/"]);
    expect(mine["/"]).toMatchObject({ "Sys.Audit": 1, "VM.Config.Options": 1 });
    expect(mine["/"]["Sys.Modify"]).toBeUndefined();
    expect((await boss.call("GET", "/access/permissions", { path: "/" })).body.data["/"]["Sys.Modify"]).toBe(1);
  });
});

describe("tag changes", () => {
  test("a config update checks them in the qmconfig worker: a task error, not a 403; removal too", async () => {
    const { admin, user, boss } = await cluster({ datacenter: { "user-tag-access": "user-allow=list,user-allow-list=web" } });
    await admin.run("POST", "/nodes/n1/qemu", { vmid: 100, tags: "web;legacy" });
    const refused = await user.call("POST", "/nodes/n1/qemu/100/config", { tags: "web;db" });
    expect(refused.status).toBe(200);
    const task = await user.waitTask(refused.body.data);
    // "legacy" is removed and "db" added: both need allowing; the first one checked fails.
    expect(task.status.exitstatus).toMatch(/^Permission check failed \(\/, Sys\.Modify for modifying tag '(legacy|db)'\)$/);
    expect(task.log.at(-1)).toBe(`TASK ERROR: ${task.status.exitstatus}`);
    expect((await admin.call("GET", "/nodes/n1/qemu/100/config")).body.data.tags).toBe("legacy;web");

    // Another option leaves the tags alone: nothing to check.
    expect((await user.run("POST", "/nodes/n1/qemu/100/config", { memory: 1024 })).status.exitstatus).toBe("OK");
    // The synchronous PUT runs the same check and answers 403.
    const put = await user.call("PUT", "/nodes/n1/qemu/100/config", { delete: "tags" });
    expect(put.status).toBe(403);
    expect(put.reason).toBe("Permission check failed (/, Sys.Modify for modifying tag 'legacy')");
    // Sys.Modify on / may do anything.
    expect((await boss.run("POST", "/nodes/n1/qemu/100/config", { tags: "web;db" })).status.exitstatus).toBe("OK");
  });

  test("registered tags need Sys.Modify on / even in `free` mode", async () => {
    const { admin, user } = await cluster({ datacenter: { "registered-tags": "prod" } });
    await admin.run("POST", "/nodes/n1/qemu", { vmid: 100 });
    expect((await user.run("POST", "/nodes/n1/qemu/100/config", { tags: "anything" })).status.exitstatus).toBe("OK");
    expect((await user.run("POST", "/nodes/n1/qemu/100/config", { tags: "anything;prod" })).status.exitstatus)
      .toBe("Permission check failed (/, Sys.Modify for modifying tag 'prod')");
  });

  test("up to 9.1 a create does not check tags; from 9.2 it does, after the import, with a pseudo-tag no list allows", async () => {
    const restricted = { "user-tag-access": "user-allow=list,user-allow-list=web" };
    const pve91 = await cluster({ version: "9.1", datacenter: restricted });
    expect((await pve91.user.run("POST", "/nodes/n1/qemu", { vmid: 100, tags: "web;other", scsi0: "local-lvm:1" })).status.exitstatus).toBe("OK");

    const pve92 = await cluster({ version: "9.2", datacenter: restricted });
    const created = await pve92.user.run("POST", "/nodes/n1/qemu", { vmid: 100, tags: "web", scsi0: "local-lvm:1" });
    expect(created.status.exitstatus).toBe("unable to create VM 100 - Permission check failed (/, Sys.Modify for modifying tag 'HASH(0x55d3c0ffee10)')");
    // The disk it allocated is freed, the config removed.
    expect(pve92.emulator.state.vms.has(100)).toBe(false);
    expect(pve92.emulator.state.volumes.filter((volume) => volume.vmid === 100)).toEqual([]);
    // `free` and Sys.Modify pass.
    expect((await pve92.boss.run("POST", "/nodes/n1/qemu", { vmid: 101, tags: "web" })).status.exitstatus).toBe("OK");
    const free = await cluster({ version: "9.2" });
    expect((await free.user.run("POST", "/nodes/n1/qemu", { vmid: 100, tags: "web" })).status.exitstatus).toBe("OK");
  });
});

describe("default storages", () => {
  const storages = async (options: EmulatorOptions) => {
    const { admin } = await cluster(options);
    const resources = (await admin.call("GET", "/cluster/resources", { type: "storage" })).body.data;
    return Object.fromEntries(resources.map((r: { storage: string; plugintype: string; content: string }) => [r.storage, `${r.plugintype}: ${r.content}`]));
  };

  test("follow the release and the installer's root file system", async () => {
    // The emulator's contract: `local` with iso, import and snippets, `local-lvm` with images.
    expect(await storages({})).toEqual({ local: "dir: backup,import,iso,snippets,vztmpl", "local-lvm": "lvmthin: images,rootdir" });
    expect(await storages({ version: "8.4" })).toEqual({ local: "dir: backup,iso,snippets,vztmpl", "local-lvm": "lvmthin: images,rootdir" });
    expect(await storages({ installer: "zfs" })).toEqual({ local: "dir: backup,import,iso,snippets,vztmpl", "local-zfs": "zfspool: images,rootdir" });
    // BTRFS installs disable `local`; a disabled storage is not listed.
    expect(await storages({ installer: "btrfs" })).toEqual({ "local-btrfs": "btrfs: backup,images,import,iso,rootdir,vztmpl" });
  });
});
