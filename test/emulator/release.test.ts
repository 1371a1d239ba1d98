import { afterEach, describe, expect, test } from "bun:test";
import { ApiClient, emulatorForTest, tokenHeader } from "./client.ts";
import type { Emulator } from "./server.ts";

const AGENT_AUDITOR = { id: "agent@pve!watch", secret: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", privileges: ["VM.GuestAgent.Audit"] };

const running: Emulator[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((emulator) => emulator.stop()));
});

async function release(version: string): Promise<ApiClient> {
  const { emulator } = await emulatorForTest({ version, nodes: ["n1"], tokens: [AGENT_AUDITOR] });
  running.push(emulator);
  return new ApiClient(emulator, tokenHeader(AGENT_AUDITOR.id, AGENT_AUDITOR.secret));
}

describe("release switch", () => {
  test("each release uses its own schema: agent calls need VM.Monitor on 8.4, VM.GuestAgent.* on 9.1", async () => {
    const pve84 = await release("8.4");
    expect((await pve84.call("GET", "/version")).body.data).toMatchObject({ version: "8.4.1", release: "8.4" });
    const denied = await pve84.call("POST", "/nodes/n1/qemu/100/agent/ping");
    expect(denied.status).toBe(403);
    expect(denied.reason).toBe("Permission check failed (/vms/100, VM.Monitor)");

    const pve91 = await release("9.1");
    const allowed = await pve91.call("POST", "/nodes/n1/qemu/100/agent/ping");
    expect(allowed.status).toBe(500);
    expect(allowed.reason).toBe("Configuration file 'nodes/n1/qemu-server/100.conf' does not exist");
  });

  test("8.3 takes only .ova for import; error bodies carry `message` only from 8.3 on", async () => {
    // An administrator enabled `import` on local: 8.x installers do not.
    const storages = [{ id: "local", type: "dir", path: "/var/lib/vz", content: ["iso", "import"] }];
    const pve83 = await emulatorForTest({ version: "8.3", nodes: ["n1"], schemaFile: null, storages });
    running.push(pve83.emulator);
    const qcow2 = await pve83.api.call("POST", "/nodes/n1/storage/local/download-url", {
      content: "import",
      filename: "image.qcow2",
      url: "https://example.org/image.qcow2",
    });
    expect(qcow2.status).toBe(400);
    expect(qcow2.body).toEqual({
      data: null,
      errors: { filename: "invalid filename or wrong extension" },
      message: "Parameter verification failed.\n",
    });
    expect(pve83.emulator.notices).toEqual(["no PVE API schema requested: schema checks are off"]);

    const pve82 = await emulatorForTest({ version: "8.2", nodes: ["n1"], schemaFile: null });
    running.push(pve82.emulator);
    const missing = await pve82.api.call("GET", "/nodes/n1/qemu/999/config");
    expect(missing.status).toBe(500);
    expect(missing.reason).toBe("Configuration file 'nodes/n1/qemu-server/999.conf' does not exist");
    expect(missing.body).toEqual({ data: null });
  });
});
