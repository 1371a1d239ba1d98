import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ApiClient, emulatorForTest } from "./client.ts";
import type { Emulator } from "./server.ts";

const IMAGE_URL = "https://download.example.org/microos.qcow2";
const IMAGE_SHA256 = "a".repeat(64);
const GiB = 2 ** 30;

let emulator: Emulator;
let api: ApiClient;

beforeAll(async () => {
  ({ emulator, api } = await emulatorForTest({
    nodes: ["n1", "n2"],
    taskDurations: { qmcreate: 300 },
    published: { [IMAGE_URL]: { size: 700 * 2 ** 20, sha256: IMAGE_SHA256, virtualSize: 2 * GiB } },
  }));
  const download = await api.run("POST", "/nodes/n1/storage/local/download-url", {
    content: "import",
    filename: "microos.qcow2",
    url: IMAGE_URL,
    checksum: IMAGE_SHA256,
    "checksum-algorithm": "sha256",
  });
  expect(download.status.exitstatus).toBe("OK");
  emulator.putFile("n1", "local:iso/tools.iso", "iso9660");
});
afterAll(() => emulator.stop());

const createParams = (vmid: number, extra: Record<string, string | number> = {}) => ({
  vmid,
  name: `vm${vmid}`,
  cores: 2,
  memory: 2048,
  scsihw: "virtio-scsi-single",
  scsi0: "local-lvm:0,import-from=local:import/microos.qcow2,discard=on",
  ide2: "local-lvm:cloudinit",
  net0: "virtio,bridge=vmbr0",
  ipconfig0: "ip=10.0.20.31/24,gw=10.0.20.1",
  agent: "enabled=1",
  tags: "Starbase;web,starbase",
  ...extra,
});

describe("create", () => {
  test("returns a UPID at once; the config exists with lock: create until the task ends; /cluster/resources lags", async () => {
    const response = await api.call("POST", "/nodes/n1/qemu", createParams(100));
    expect(response.status).toBe(200);
    const upid: string = response.body.data;
    expect(upid).toMatch(/^UPID:n1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmcreate:100:starbase@pve!emulator:$/);

    // Lock and tags come from the config, the rest from pvestatd's last sample: none yet for this VM.
    const during = (await api.call("GET", "/cluster/resources", { type: "vm" })).body.data;
    expect(during).toEqual([{ id: "qemu/100", vmid: 100, node: "n1", type: "qemu", status: "unknown", lock: "create" }]);
    emulator.sample();
    const sampled = (await api.call("GET", "/cluster/resources", { type: "vm" })).body.data;
    expect(sampled).toContainEqual(expect.objectContaining({ vmid: 100, name: "VM 100", status: "stopped", lock: "create", maxdisk: 0 }));
    const config = await api.call("GET", "/nodes/n1/qemu/100/config");
    expect(config.body.data).toEqual({ lock: "create", digest: expect.stringMatching(/^[0-9a-f]{40}$/) });
    const running = await api.call("GET", `/nodes/n1/tasks/${encodeURIComponent(upid)}/status`);
    expect(running.body.data).toMatchObject({ status: "running", type: "qmcreate", id: "100", user: "starbase@pve", tokenid: "emulator" });
    expect(running.body.data.exitstatus).toBeUndefined();

    const { status, log } = await api.waitTask(upid);
    expect(status.exitstatus).toBe("OK");
    expect(log.at(-1)).toBe("TASK OK");

    const final = (await api.call("GET", "/nodes/n1/qemu/100/config")).body.data;
    expect(final.lock).toBeUndefined();
    expect(final.scsi0).toBe("local-lvm:vm-100-disk-0,discard=on,size=2G");
    expect(final.ide2).toBe("local-lvm:vm-100-cloudinit,media=cdrom");
    expect(final.net0).toMatch(/^virtio=BC:24:11:[0-9A-F]{2}:[0-9A-F]{2}:[0-9A-F]{2},bridge=vmbr0$/);
    expect(final.tags).toBe("starbase;web");
    expect(final.cores).toBe(2);
    expect(final.memory).toBe("2048");
    expect(final.boot).toBe("order=scsi0;ide2;net0");
    expect(final.smbios1).toMatch(/^uuid=/);

    // Tags at once; name and sizes only after the next sample.
    const unsampled = (await api.call("GET", "/cluster/resources", { type: "vm" })).body.data;
    expect(unsampled).toContainEqual(expect.objectContaining({ vmid: 100, tags: "starbase;web", name: "VM 100", maxdisk: 0 }));
    emulator.sample();
    const resources = (await api.call("GET", "/cluster/resources", { type: "vm" })).body.data;
    expect(resources).toContainEqual(expect.objectContaining({ vmid: 100, name: "vm100", tags: "starbase;web", maxdisk: 2 * GiB, maxmem: 2048 * 2 ** 20 }));
    const disks = (await api.call("GET", "/nodes/n1/storage/local-lvm/content", { vmid: 100 })).body.data;
    expect(disks.map((disk: { volid: string }) => disk.volid)).toEqual(["local-lvm:vm-100-cloudinit", "local-lvm:vm-100-disk-0"]);
    expect(disks[1]).toMatchObject({ content: "images", format: "raw", size: 2 * GiB, vmid: 100 });
  });

  test("a taken VMID is refused synchronously, cluster-wide; nextid reserves nothing", async () => {
    const again = await api.call("POST", "/nodes/n2/qemu", { vmid: 100 });
    expect(again.status).toBe(500);
    expect(again.reason).toBe("unable to create VM 100 - VM 100 already exists on node 'n1'");
    expect(again.body.message).toBe("unable to create VM 100 - VM 100 already exists on node 'n1'\n");
    const next = await api.call("GET", "/cluster/nextid");
    expect(next.body.data).toBe("101");
    const taken = await api.call("GET", "/cluster/nextid", { vmid: 100 });
    expect(taken.status).toBe(400);
    expect(taken.body.errors).toEqual({ vmid: "VM 100 already exists" });
  });

  test("import-from: special syntax, source type, root-only paths, image storages", async () => {
    const sized = await api.call("POST", "/nodes/n1/qemu", { vmid: 120, scsi0: "local-lvm:10,import-from=local:import/microos.qcow2" });
    expect(sized.status).toBe(400);
    expect(sized.body.errors).toEqual({ scsi0: "'import-from' requires special syntax - use <storage ID>:0,import-from=<source>" });
    const iso = await api.call("POST", "/nodes/n1/qemu", { vmid: 120, scsi0: "local-lvm:0,import-from=local:iso/tools.iso" });
    expect(iso.body.errors).toEqual({ scsi0: "local:iso/tools.iso has wrong type 'iso' - needs to be 'images' or 'import'" });
    const path = await api.call("POST", "/nodes/n1/qemu", { vmid: 120, scsi0: "local-lvm:0,import-from=/var/lib/vz/import/microos.qcow2" });
    expect(path.status).toBe(500);
    expect(path.reason).toStartWith("Only root can pass arbitrary filesystem paths.");
    const dirStorage = await api.call("POST", "/nodes/n1/qemu", { vmid: 120, scsi0: "local:8" });
    expect(dirStorage.status).toBe(400);
    expect(dirStorage.body.errors).toEqual({ storage: "storage 'local' does not support vm images" });
    const unknown = await api.call("POST", "/nodes/n1/qemu", { vmid: 120, scsi0: "nvme:8" });
    expect(unknown.status).toBe(500);
    expect(unknown.reason).toBe("storage 'nvme' does not exist");
    const cdrom = await api.call("POST", "/nodes/n1/qemu", { vmid: 120, ide2: "local:iso/tools.iso" });
    expect(cdrom.body.errors).toEqual({ ide2: "explicit 'media=cdrom' is required for iso images" });
    expect((await api.call("GET", "/cluster/resources", { type: "vm" })).body.data.some((vm: { vmid: number }) => vm.vmid === 120)).toBe(false);
  });

  test("pools: creation is atomic; create accepts only existing pools", async () => {
    expect((await api.call("POST", "/pools", { poolid: "starbase", comment: "run lock" })).status).toBe(200);
    const again = await api.call("POST", "/pools", { poolid: "starbase" });
    expect(again.status).toBe(500);
    expect(again.reason).toBe("create pool failed: pool 'starbase' already exists");
    const missing = await api.call("POST", "/nodes/n1/qemu", { vmid: 160, pool: "elsewhere" });
    expect(missing.reason).toBe("pool 'elsewhere' does not exist");
    const pooled = await api.run("POST", "/nodes/n1/qemu", { vmid: 160, pool: "starbase" });
    expect(pooled.status.exitstatus).toBe("OK");
    expect((await api.call("GET", "/pools")).body.data).toEqual([{ poolid: "starbase", comment: "run lock" }]);
  });

  test("a failing create task removes the config and the volumes it created", async () => {
    const missing = await api.run("POST", "/nodes/n2/qemu", createParams(130));
    expect(missing.status.exitstatus).toBe(
      "unable to create VM 130 - cannot import from 'local:import/microos.qcow2' - could not get size of local:import/microos.qcow2",
    );
    const cdrom = await api.run("POST", "/nodes/n1/qemu", {
      vmid: 131,
      scsi0: "local-lvm:4",
      ide2: "local:iso/missing.iso,media=cdrom",
    });
    expect(cdrom.status.exitstatus).toBe("unable to create VM 131 - volume local:iso/missing.iso does not exist");
    const vms = (await api.call("GET", "/cluster/resources", { type: "vm" })).body.data.map((vm: { vmid: number }) => vm.vmid);
    expect(vms).not.toContain(130);
    expect(vms).not.toContain(131);
    const volumes = (await api.call("GET", "/nodes/n1/storage/local-lvm/content")).body.data.map((volume: { volid: string }) => volume.volid);
    expect(volumes.some((volid: string) => volid.includes("vm-131-"))).toBe(false);
  });

  test("a config write waiting for the create's flock times out", async () => {
    const response = await api.call("POST", "/nodes/n1/qemu", createParams(140));
    const blocked = await api.call("PUT", "/nodes/n1/qemu/140/config", { description: "too early" });
    expect(blocked.status).toBe(500);
    expect(blocked.reason).toBe("can't lock file '/var/lock/qemu-server/lock-140.conf' - got timeout");
    expect((await api.waitTask(response.body.data)).status.exitstatus).toBe("OK");
  });
});

describe("config, power and destroy", () => {
  test("PUT config is synchronous, normalises tags and changes the digest; a stale digest is refused", async () => {
    const before = (await api.call("GET", "/nodes/n1/qemu/100/config")).body.data;
    const update = await api.call("PUT", "/nodes/n1/qemu/100/config", { tags: "Web;Starbase;k8s", description: "web", digest: before.digest });
    expect(update.status).toBe(200);
    expect(update.body).toEqual({ data: null });
    const after = (await api.call("GET", "/nodes/n1/qemu/100/config")).body.data;
    expect(after.tags).toBe("k8s;starbase;web");
    expect(after.digest).not.toBe(before.digest);
    const stale = await api.call("PUT", "/nodes/n1/qemu/100/config", { description: "other", digest: before.digest });
    expect(stale.status).toBe(500);
    expect(stale.reason).toBe("detected modified configuration - file changed by other user? Try again.");
    const removed = await api.run("POST", "/nodes/n1/qemu/100/config", { delete: "description" });
    expect(removed.status.exitstatus).toBe("OK");
    expect((await api.call("GET", "/nodes/n1/qemu/100/config")).body.data.description).toBeUndefined();
  });

  test("resize is a task; shrinking and CD-ROMs fail inside it", async () => {
    const grow = await api.run("PUT", "/nodes/n1/qemu/100/resize", { disk: "scsi0", size: "+1G" });
    expect(grow.status.exitstatus).toBe("OK");
    expect((await api.call("GET", "/nodes/n1/qemu/100/config")).body.data.scsi0).toBe("local-lvm:vm-100-disk-0,discard=on,size=3G");
    const shrink = await api.run("PUT", "/nodes/n1/qemu/100/resize", { disk: "scsi0", size: "1G" });
    expect(shrink.status.exitstatus).toBe("shrinking disks is not supported");
    expect(shrink.log.at(-1)).toBe("TASK ERROR: shrinking disks is not supported");
    const cdrom = await api.run("PUT", "/nodes/n1/qemu/100/resize", { disk: "ide2", size: "+1G" });
    expect(cdrom.status.exitstatus).toBe("you can't resize a cdrom");
  });

  test("start checks cicustom snippets; a second start fails in the task", async () => {
    await api.call("PUT", "/nodes/n1/qemu/100/config", { cicustom: "user=local:snippets/vm100-user.yaml" });
    const noSnippet = await api.run("POST", "/nodes/n1/qemu/100/status/start");
    expect(noSnippet.status.exitstatus).toBe("can't find file 'local:snippets/vm100-user.yaml'");
    emulator.putFile("n1", "local:snippets/vm100-user.yaml", "#cloud-config\n");
    const start = await api.run("POST", "/nodes/n1/qemu/100/status/start");
    expect(start.status.exitstatus).toBe("OK");
    const current = (await api.call("GET", "/nodes/n1/qemu/100/status/current")).body.data;
    expect(current).toMatchObject({ status: "running", qmpstatus: "running", agent: 1, name: "vm100" });
    const again = await api.run("POST", "/nodes/n1/qemu/100/status/start");
    expect(again.status.exitstatus).toBe("VM 100 already running");
  });

  test("the guest agent answers for running VMs with the agent enabled", async () => {
    const interfaces = await api.call("GET", "/nodes/n1/qemu/100/agent/network-get-interfaces");
    expect(interfaces.status).toBe(200);
    const eth0 = interfaces.body.data.result.find((nic: { name: string }) => nic.name === "eth0");
    expect(eth0["ip-addresses"]).toEqual([{ "ip-address": "10.0.20.31", "ip-address-type": "ipv4", prefix: 24 }]);
    const created = await api.run("POST", "/nodes/n1/qemu", { vmid: 150, scsi0: "local-lvm:1" });
    expect(created.status.exitstatus).toBe("OK");
    const noAgent = await api.call("POST", "/nodes/n1/qemu/150/agent/ping");
    expect(noAgent.status).toBe(500);
    expect(noAgent.reason).toBe("No QEMU guest agent configured");
  });

  test("on a running VM memory and cores stay pending until a start from Proxmox; tags and NICs change at once", async () => {
    const update = await api.run("POST", "/nodes/n1/qemu/100/config", { memory: 4096, cores: 4, tags: "starbase;web;v2", net0: "virtio,bridge=vmbr1" });
    expect(update.status.exitstatus).toBe("OK");
    const merged = (await api.call("GET", "/nodes/n1/qemu/100/config")).body.data;
    expect(merged).toMatchObject({ memory: "4096", cores: 4, tags: "starbase;v2;web" });
    const current = (await api.call("GET", "/nodes/n1/qemu/100/config", { current: 1 })).body.data;
    expect(current).toMatchObject({ memory: "2048", cores: 2, tags: "starbase;v2;web" });
    expect(current.net0).toMatch(/bridge=vmbr1/);
    const pending = (await api.call("GET", "/nodes/n1/qemu/100/pending")).body.data as { key: string; value?: unknown; pending?: unknown }[];
    const item = (key: string) => pending.find((entry) => entry.key === key);
    expect(item("memory")).toEqual({ key: "memory", value: "2048", pending: "4096" });
    expect(item("cores")).toEqual({ key: "cores", value: 2, pending: 4 });
    expect(item("tags")).toEqual({ key: "tags", value: "starbase;v2;web" });
    const listed = (await api.call("GET", "/cluster/resources", { type: "vm" })).body.data.find((vm: { vmid: number }) => vm.vmid === 100);
    expect(listed).toMatchObject({ maxmem: 2048 * 2 ** 20, maxcpu: 2 });

    // Setting the current value again drops its pending entry (cleanup_pending).
    expect((await api.run("POST", "/nodes/n1/qemu/100/config", { memory: 2048 })).status.exitstatus).toBe("OK");
    const left = (await api.call("GET", "/nodes/n1/qemu/100/pending")).body.data as { key: string; pending?: unknown }[];
    expect(left.filter((entry) => entry.pending !== undefined).map((entry) => entry.key)).toEqual(["cores"]);
    // A reboot from Proxmox starts a new QEMU: what was pending takes effect.
    expect((await api.run("POST", "/nodes/n1/qemu/100/status/reboot")).status.exitstatus).toBe("OK");
    const after = (await api.call("GET", "/nodes/n1/qemu/100/config", { current: 1 })).body.data;
    expect(after).toMatchObject({ memory: "2048", cores: 4 });
    expect(((await api.call("GET", "/nodes/n1/qemu/100/pending")).body.data as { pending?: unknown }[]).some((entry) => entry.pending !== undefined)).toBe(false);
  });

  test("a running VM cannot be destroyed; after stop, destroy frees its disks and removes it", async () => {
    const refused = await api.call("DELETE", "/nodes/n1/qemu/100");
    expect(refused.status).toBe(500);
    expect(refused.reason).toBe("VM 100 is running - destroy failed");
    const elsewhere = await api.call("DELETE", "/nodes/n2/qemu/100");
    expect(elsewhere.reason).toBe("Configuration file 'nodes/n2/qemu-server/100.conf' does not exist");
    expect((await api.run("POST", "/nodes/n1/qemu/100/status/stop")).status.exitstatus).toBe("OK");
    const destroy = await api.call("DELETE", "/nodes/n1/qemu/100", { purge: 1, "destroy-unreferenced-disks": 1 });
    const during = (await api.call("GET", "/nodes/n1/qemu/100/config")).body.data;
    expect(during.lock).toBe("destroyed");
    expect((await api.waitTask(destroy.body.data)).status.exitstatus).toBe("OK");
    const vms = (await api.call("GET", "/nodes/n1/qemu")).body.data.map((vm: { vmid: number }) => vm.vmid);
    expect(vms).not.toContain(100);
    const volumes = (await api.call("GET", "/nodes/n1/storage/local-lvm/content", { vmid: 100 })).body.data;
    expect(volumes).toEqual([]);
    const image = (await api.call("GET", "/nodes/n1/storage/local/content", { content: "import" })).body.data;
    expect(image.map((volume: { volid: string }) => volume.volid)).toEqual(["local:import/microos.qcow2"]);
  });
});

describe("tasks", () => {
  test("status and log are node-local; malformed and unknown UPIDs are parameter errors", async () => {
    const { body } = await api.call("POST", "/nodes/n1/qemu/150/status/start");
    const upid: string = body.data;
    await api.waitTask(upid);
    const elsewhere = await api.call("GET", `/nodes/n2/tasks/${encodeURIComponent(upid)}/status`);
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.errors).toEqual({ upid: "no such task" });
    const malformed = await api.call("GET", "/nodes/n1/tasks/UPID:n1:nonsense/status");
    expect(malformed.body.errors).toEqual({ upid: "unable to parse worker upid" });
    const unknown = await api.call("GET", `/nodes/n1/tasks/${encodeURIComponent(upid.replace(":qmstart:", ":qmstop:"))}/status`);
    expect(unknown.body.errors).toEqual({ upid: "no such task" });

    const log = await api.call("GET", `/nodes/n1/tasks/${encodeURIComponent(upid)}/log`, { start: 0, limit: 1 });
    expect(log.body.total).toBeGreaterThan(0);
    expect(log.body.data).toEqual([{ n: 1, t: expect.any(String) }]);
    const list = (await api.call("GET", "/nodes/n1/tasks", { typefilter: "qmstart", vmid: 150 })).body.data;
    expect(list[0]).toMatchObject({ upid, type: "qmstart", id: "150", status: "OK", user: "starbase@pve!emulator" });
  });
});
