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
    const nodes = await reader.call("GET", "/cluster/resources", { type: "node" });
    expect(nodes.body.data).toEqual([]);
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
