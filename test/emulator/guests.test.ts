// Pools (nested, and what deleting one does to the permissions on it) and LXC containers as
// far as VMs meet them: one VMID list, and type lxc in /cluster/resources.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ApiClient, emulatorForTest, tokenHeader } from "./client.ts";
import type { Emulator } from "./server.ts";

const ADMIN = { id: "admin@pve!ci", secret: "11111111-2222-3333-4444-555555555555" };
const LOCKER = {
  id: "locker@pve!ci",
  secret: "22222222-3333-4444-5555-666666666666",
  privileges: ["/pool/kept:Pool.Allocate", "/pool/kept:Pool.Audit", "/pool/gone:Pool.Allocate", "/pool/gone/sub:Pool.Allocate", "VM.Audit"],
};

let emulator: Emulator;
let admin: ApiClient;
let locker: ApiClient;

beforeAll(async () => {
  ({ emulator } = await emulatorForTest({
    nodes: ["n1", "n2"],
    tokens: [ADMIN, LOCKER],
    containers: [{ vmid: 150, node: "n2", name: "web", running: true, tags: "prod" }],
  }));
  admin = new ApiClient(emulator, tokenHeader(ADMIN.id, ADMIN.secret));
  locker = new ApiClient(emulator, tokenHeader(LOCKER.id, LOCKER.secret));
});
afterAll(() => emulator.stop());

describe("pools", () => {
  test("nested pools need their parent; a parent with sub-pools cannot be deleted", async () => {
    const orphan = await admin.call("POST", "/pools", { poolid: "kept/run" });
    expect(orphan.status).toBe(500);
    expect(orphan.reason).toBe("create pool failed: parent 'kept' of pool 'kept/run' does not exist");
    expect((await admin.call("POST", "/pools", { poolid: "kept", comment: "stays" })).status).toBe(200);
    expect((await admin.call("POST", "/pools", { poolid: "kept/run", comment: "holder" })).status).toBe(200);
    expect((await admin.call("POST", "/pools", { poolid: "kept/9run" })).reason).toBe("create pool failed: pool name must start with a letter");
    expect((await admin.call("POST", "/pools", { poolid: "a/b/c/d" })).body.errors).toEqual({ poolid: "invalid format - pool name 'a/b/c/d' nested too deeply (max levels = 3)\n" });
    const busy = await admin.call("DELETE", "/pools", { poolid: "kept" });
    expect(busy.reason).toBe("delete pool failed: pool 'kept' is not empty (contains pool 'kept/run')");
    expect((await admin.call("GET", "/pools", { poolid: "kept/run" })).body.data).toEqual([{ poolid: "kept/run", comment: "holder", members: [] }]);
  });

  test("an empty comment is not kept", async () => {
    expect((await admin.call("PUT", "/pools", { poolid: "kept/run", comment: "" })).status).toBe(200);
    expect((await admin.call("GET", "/pools", { poolid: "kept/run" })).body.data).toEqual([{ poolid: "kept/run", members: [] }]);
  });

  test("deleting a pool deletes the permissions on it and below; deleting a sub-pool deletes none", async () => {
    // A grant on the parent propagates to the sub-pool, and outlives the sub-pool's deletion.
    expect((await locker.call("DELETE", "/pools", { poolid: "kept/run" })).status).toBe(200);
    expect((await locker.call("POST", "/pools", { poolid: "kept/run" })).status).toBe(200);
    expect((await locker.call("DELETE", "/pools", { poolid: "kept/run" })).status).toBe(200);
    // A grant on exactly a pool that is deleted goes with it: the next create is refused.
    expect((await admin.call("POST", "/pools", { poolid: "gone" })).status).toBe(200);
    expect((await locker.call("DELETE", "/pools", { poolid: "gone" })).status).toBe(200);
    const again = await locker.call("POST", "/pools", { poolid: "gone" });
    expect(again.status).toBe(403);
    expect(again.reason).toBe("Permission check failed (/pool/gone, Pool.Allocate)");
    // So are the grants below it (/pool/gone/sub); those on other pools stay.
    expect((await locker.call("POST", "/pools", { poolid: "kept/run" })).status).toBe(200);
    expect((await admin.call("POST", "/pools", { poolid: "gone" })).status).toBe(200);
    expect((await locker.call("POST", "/pools", { poolid: "gone/sub" })).status).toBe(403);
  });
});

describe("containers", () => {
  test("listed in /cluster/resources as lxc, with their name, node and tags", async () => {
    const all = (await admin.call("GET", "/cluster/resources", { type: "vm" })).body.data as Record<string, unknown>[];
    expect(all.find((r) => r.vmid === 150)).toMatchObject({ id: "lxc/150", type: "lxc", node: "n2", name: "web", status: "running", tags: "prod" });
  });

  test("their VMID is taken for VMs: create fails as Proxmox says, nextid skips it", async () => {
    const created = await admin.call("POST", "/nodes/n1/qemu", { vmid: 150, memory: 512 });
    expect(created.status).toBe(500);
    expect(created.reason).toBe("unable to create VM 150 - CT 150 already exists on node 'n2'");
    expect((await admin.call("GET", "/cluster/nextid", { vmid: 150 })).body.errors).toEqual({ vmid: "VM 150 already exists" });
    emulator.addContainer({ vmid: 100, node: "n1", name: "dns", running: false });
    expect(() => emulator.addContainer({ vmid: 100, node: "n1", name: "twice", running: false })).toThrow("CT 100 already exists on node 'n1'");
    expect((await admin.call("GET", "/cluster/nextid")).body.data).toBe("101");
    expect((await admin.call("GET", "/nodes/n1/qemu/100/config")).reason).toBe("Configuration file 'nodes/n1/qemu-server/100.conf' does not exist");
  });
});
