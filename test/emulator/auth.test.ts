import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiClient, emulatorForTest, tokenHeader } from "./client.ts";
import type { Emulator } from "./server.ts";

const ADMIN = { id: "admin@pve!ci", secret: "11111111-2222-3333-4444-555555555555" };
const READER = {
  id: "reader@pve!ro",
  secret: "66666666-7777-8888-9999-000000000000",
  privileges: ["VM.Audit", "Datastore.Audit", "/vms/300:VM.PowerMgmt", "/storage/local:Datastore.AllocateTemplate"],
};

let emulator: Emulator;
let admin: ApiClient;
let reader: ApiClient;

beforeAll(async () => {
  ({ emulator } = await emulatorForTest({ nodes: ["n1"], tokens: [ADMIN, READER] }));
  admin = new ApiClient(emulator, tokenHeader(ADMIN.id, ADMIN.secret));
  reader = new ApiClient(emulator, tokenHeader(READER.id, READER.secret));
});
afterAll(() => emulator.stop());

describe("API token authentication", () => {
  test("no credentials: 401 'No ticket' with an empty body and Connection: close", async () => {
    const response = await admin.call("GET", "/version", {}, { authorization: null });
    expect(response.status).toBe(401);
    expect(response.reason).toBe("No ticket");
    expect(response.raw).toBe("");
    expect(response.headers.connection).toBe("close");
  });

  test("wrong secret or unknown token: 401 'Authentication failed!'", async () => {
    for (const authorization of [tokenHeader(ADMIN.id, "wrong"), tokenHeader("ghost@pve!x", ADMIN.secret)]) {
      const response = await admin.call("GET", "/version", {}, { authorization });
      expect(response.status).toBe(401);
      expect(response.reason).toBe("Authentication failed!");
      expect(response.raw).toBe("");
    }
  });

  test("the space-separated header form and URL-escaped values are accepted", async () => {
    const spaced = await admin.call("GET", "/version", {}, { authorization: `PVEAPIToken ${ADMIN.id}=${ADMIN.secret}` });
    expect(spaced.status).toBe(200);
    const escaped = await admin.call("GET", "/version", {}, { authorization: `PVEAPIToken=${encodeURIComponent(`${ADMIN.id}=${ADMIN.secret}`)}` });
    expect(escaped.status).toBe(200);
    expect(escaped.body.data.release).toBe("9.1");
  });

  test("rejected requests are logged with their status, secrets never", async () => {
    await admin.call("GET", "/cluster/resources", { type: "vm" }, { authorization: tokenHeader(ADMIN.id, "nope") });
    const entry = emulator.requestLog.findLast((line) => line.path === "/cluster/resources");
    expect(entry).toEqual({ method: "GET", path: "/cluster/resources", params: { type: "vm" }, status: 401 });
    expect(JSON.stringify(emulator.requestLog)).not.toContain(ADMIN.secret);
  });
});

describe("privileges", () => {
  test("a missing privilege is 403 with the path and privilege from the schema check", async () => {
    // VM.PowerMgmt is granted on /vms/300 only: the check passes and the handler answers
    const granted = await reader.call("POST", "/nodes/n1/qemu/300/status/stop");
    expect(granted.status).toBe(500);
    expect(granted.reason).toBe("Configuration file 'nodes/n1/qemu-server/300.conf' does not exist");
    const other = await reader.call("POST", "/nodes/n1/qemu/301/status/stop");
    expect(other.status).toBe(403);
    expect(other.reason).toBe("Permission check failed (/vms/301, VM.PowerMgmt)");
    expect(other.body.message).toBe("Permission check failed (/vms/301, VM.PowerMgmt)\n");
  });

  test("composite checks fail without details", async () => {
    const response = await reader.call("POST", "/nodes/n1/storage/local/download-url", {
      content: "iso",
      filename: "a.iso",
      url: "https://example.org/a.iso",
    });
    expect(response.status).toBe(403);
    expect(response.reason).toBe("Permission check failed");
  });

  test("create needs VM.Allocate on the VM (raise_perm_exc without details)", async () => {
    const response = await reader.call("POST", "/nodes/n1/qemu", { vmid: 300 });
    expect(response.status).toBe(403);
    expect(response.reason).toBe("Permission check failed");
  });

  test("listings are filtered by audit privileges", async () => {
    const created = await admin.run("POST", "/nodes/n1/qemu", { vmid: 310, name: "visible" });
    expect(created.status.exitstatus).toBe("OK");
    const asReader = await reader.call("GET", "/cluster/resources", { type: "vm" });
    expect(asReader.body.data.map((vm: { vmid: number }) => vm.vmid)).toEqual([310]);
    // Nodes are listed to everyone (extract_node_stats), their figures only with Sys.Audit.
    const nodes = await reader.call("GET", "/cluster/resources", { type: "node" });
    expect(nodes.body.data).toEqual([{ id: "node/n1", type: "node", node: "n1", status: "online", level: "" }]);
    const asAdmin = await admin.call("GET", "/cluster/resources", { type: "node" });
    expect(asAdmin.body.data[0]).toMatchObject({ node: "n1", status: "online", maxcpu: 16 });
  });

  test("tasks of other tokens need Sys.Audit on the node", async () => {
    const { body } = await admin.call("POST", "/nodes/n1/qemu/310/status/start");
    const upid = encodeURIComponent(body.data);
    const response = await reader.call("GET", `/nodes/n1/tasks/${upid}/status`);
    expect(response.status).toBe(403);
    expect(response.reason).toBe("Permission check failed (/nodes/n1, Sys.Audit)");
    const own = await admin.waitTask(body.data);
    expect(own.status.user).toBe("admin@pve");
    expect(own.status.tokenid).toBe("ci");
  });
});

describe("ACLs as pve-access-control resolves them", () => {
  const OPERATOR = {
    id: "op@pve!infra",
    secret: "abababab-0000-4000-8000-000000000001",
    acl: [
      { path: "/vms", privileges: ["VM.Audit", "VM.PowerMgmt"] },
      { path: "/vms/400", privileges: ["VM.Audit"] }, // replaces what /vms gives on VM 400
      { path: "/storage/local", privileges: ["Datastore.Audit"], propagate: false },
      { path: "/nodes/n1", privileges: ["Sys.AccessNetwork"] },
    ],
    // Privilege separation: the user lacks VM.PowerMgmt on VM 401, so its token lacks it too.
    userAcl: [{ path: "/", privileges: ["VM.Audit", "VM.PowerMgmt", "Datastore.Audit", "Sys.AccessNetwork"] }, { path: "/vms/401", privileges: ["VM.Audit"] }],
  };
  let emu: Emulator;
  let op: ApiClient;

  beforeAll(async () => {
    ({ emulator: emu } = await emulatorForTest({ nodes: ["n1"], tokens: [ADMIN, OPERATOR] }));
    op = new ApiClient(emu, tokenHeader(OPERATOR.id, OPERATOR.secret));
  });
  afterAll(() => emu.stop());

  test("a deeper entry replaces what comes from above; the token has only what its user has too", async () => {
    const stop = async (vmid: number) => (await op.call("POST", `/nodes/n1/qemu/${vmid}/status/stop`)).reason;
    expect(await stop(402)).toBe("Configuration file 'nodes/n1/qemu-server/402.conf' does not exist");
    expect(await stop(400)).toBe("Permission check failed (/vms/400, VM.PowerMgmt)");
    expect(await stop(401)).toBe("Permission check failed (/vms/401, VM.PowerMgmt)");
  });

  test("GET /access/permissions: own privileges per path with their propagate flag; ?path= resolves one path", async () => {
    const all = (await op.call("GET", "/access/permissions")).body.data;
    expect(all["/vms"]).toEqual({ "VM.Audit": 1, "VM.PowerMgmt": 1 });
    expect(all["/vms/400"]).toEqual({ "VM.Audit": 1 });
    expect(all["/vms/401"]).toEqual({ "VM.Audit": 1 });
    expect(all["/storage/local"]).toEqual({ "Datastore.Audit": 0 });
    expect(all["/"]).toBeUndefined();
    const one = (await op.call("GET", "/access/permissions", { path: "/vms/402" })).body.data;
    expect(one).toEqual({ "/vms/402": { "VM.Audit": 1, "VM.PowerMgmt": 1 } });
    const below = (await op.call("GET", "/access/permissions", { path: "/storage/local/x" })).body.data;
    expect(below).toEqual({ "/storage/local/x": {} });
    const other = await op.call("GET", "/access/permissions", { userid: ADMIN.id });
    expect(other.reason).toBe("Permission check failed (/access, Sys.Audit)");
  });

  test("download-url needs AllocateTemplate on the storage and Sys.AccessNetwork on the node (or Sys.Audit+Sys.Modify on /)", async () => {
    const params = { content: "iso", filename: "a.iso", url: "https://example.org/a.iso" };
    const noTemplate = await op.call("POST", "/nodes/n1/storage/local/download-url", params);
    expect(noTemplate.reason).toBe("Permission check failed (/storage/local, Datastore.AllocateTemplate)");
    const check = emu.privilegeChecks.findLast((entry) => entry.request === "POST /nodes/n1/storage/local/download-url");
    expect(check?.alternatives).toEqual([
      [{ path: "/storage/local", privilege: "Datastore.AllocateTemplate" }, { path: "/", privilege: "Sys.Audit" }, { path: "/", privilege: "Sys.Modify" }],
      [{ path: "/storage/local", privilege: "Datastore.AllocateTemplate" }, { path: "/nodes/n1", privilege: "Sys.AccessNetwork" }],
    ]);
  });

  test("a named pool is readable without Pool.Audit; deleting a pool deletes the ACLs on its path", async () => {
    const token = { id: "lock@pve!run", secret: "cdcdcdcd-0000-4000-8000-000000000002", acl: [{ path: "/pool/lock-a", privileges: ["Pool.Allocate"] }] };
    const { emulator: poolEmu } = await emulatorForTest({ nodes: ["n1"], tokens: [token] });
    try {
      const client = new ApiClient(poolEmu, tokenHeader(token.id, token.secret));
      expect((await client.call("POST", "/pools", { poolid: "lock-a", comment: "x" })).status).toBe(200);
      expect((await client.call("GET", "/pools", { poolid: "lock-a" })).body.data).toEqual([{ poolid: "lock-a", members: [], comment: "x" }]);
      expect((await client.call("GET", "/pools")).body.data).toEqual([]);
      expect((await client.call("DELETE", "/pools", { poolid: "lock-a" })).status).toBe(200);
      const again = await client.call("POST", "/pools", { poolid: "lock-a" });
      expect(again.reason).toBe("Permission check failed (/pool/lock-a, Pool.Allocate)");
    } finally {
      await poolEmu.stop();
    }
  });
});

describe("handler checks of create and update", () => {
  const IMAGE = "https://example.org/img.qcow2";
  const BUILDER = {
    id: "build@pve!vm",
    secret: "efefefef-0000-4000-8000-000000000003",
    acl: [
      { path: "/vms/500", privileges: ["VM.Allocate", "VM.Audit", "VM.Config.Disk", "VM.Config.CDROM", "VM.Config.Network", "VM.Config.Options"] },
      { path: "/storage/local-lvm", privileges: ["Datastore.AllocateSpace"] },
      { path: "/sdn/zones/localnetwork/vmbr0/20", privileges: ["SDN.Use"] },
    ],
  };
  let emu: Emulator;
  let admin2: ApiClient;
  let builder: ApiClient;
  const create = (extra: Record<string, string | number>) => builder.call("POST", "/nodes/n1/qemu", { vmid: 500, boot: "order=scsi0", ...extra });

  beforeAll(async () => {
    ({ emulator: emu } = await emulatorForTest({ nodes: ["n1"], tokens: [ADMIN, BUILDER], published: { [IMAGE]: { size: 100, sha256: "b".repeat(64), virtualSize: 3 * 2 ** 30 } } }));
    admin2 = new ApiClient(emu, tokenHeader(ADMIN.id, ADMIN.secret));
    builder = new ApiClient(emu, tokenHeader(BUILDER.id, BUILDER.secret));
    const download = await admin2.run("POST", "/nodes/n1/storage/local/download-url", { content: "import", filename: "img.qcow2", url: IMAGE, checksum: "b".repeat(64), "checksum-algorithm": "sha256" });
    expect(download.status.exitstatus).toBe("OK");
    emu.putFile("n1", "local:iso/seed.iso", "iso9660");
  });
  afterAll(() => emu.stop());

  test("import-from and a CD-ROM ISO need read access to their storage (check_volume_access)", async () => {
    const imported = await create({ scsi0: "local-lvm:0,import-from=local:import/img.qcow2" });
    expect(imported.reason).toBe("Permission check failed (/storage/local, Datastore.AllocateSpace|Datastore.Audit)");
    const cdrom = await create({ scsi0: "local-lvm:1", ide2: "local:iso/seed.iso,media=cdrom" });
    expect(cdrom.reason).toBe("Permission check failed (/storage/local, Datastore.AllocateSpace|Datastore.Audit)");
  });

  test("a NIC needs SDN.Use on its bridge, or on bridge/VLAN when tagged — at create and at update", async () => {
    const untagged = await create({ scsi0: "local-lvm:1", net0: "virtio,bridge=vmbr0" });
    expect(untagged.reason).toBe("Permission check failed (/sdn/zones/localnetwork/vmbr0, SDN.Use)");
    const tagged = await builder.run("POST", "/nodes/n1/qemu", { vmid: 500, scsi0: "local-lvm:1", net0: "virtio,bridge=vmbr0,tag=20" });
    expect(tagged.status.exitstatus).toBe("OK");
    const moved = await builder.call("POST", "/nodes/n1/qemu/500/config", { net0: "virtio,bridge=vmbr0,tag=30" });
    expect(moved.reason).toBe("Permission check failed (/sdn/zones/localnetwork/vmbr0/30, SDN.Use)");
  });

  test("volume attributes: size is the image's virtual size, used the file's bytes; the listing shows the file's size", async () => {
    const info = (await admin2.call("GET", "/nodes/n1/storage/local/content/local:import/img.qcow2")).body.data;
    expect(info).toMatchObject({ size: 3 * 2 ** 30, used: 100, format: "qcow2" });
    const listed = (await admin2.call("GET", "/nodes/n1/storage/local/content", { content: "import" })).body.data;
    expect(listed).toEqual([expect.objectContaining({ volid: "local:import/img.qcow2", size: 100 })]);
    const hidden = await builder.call("GET", "/nodes/n1/storage/local/content/local:import/img.qcow2");
    expect(hidden.reason).toBe("Permission check failed (/storage/local, Datastore.AllocateSpace|Datastore.Audit)");
  });
});
