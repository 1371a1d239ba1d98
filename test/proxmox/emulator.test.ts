// A few end-to-end checks against the Proxmox emulator (test/emulator): the client's encoding,
// errors and task handling meet a server that validates like PVE. The core behaviour is tested
// against the small local servers in the other files.

import { createHash } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import {
  AuthError, NotFoundError, ParameterError, PermissionError, ProxmoxClient, type ProxmoxOptions, TransientError, apiPath,
} from "../../src/proxmox/index.ts";
import { DEFAULT_TOKEN } from "../emulator/options.ts";
import { type Emulator, startEmulator } from "../emulator/server.ts";

const AUDITOR = { id: "auditor@pve!ro", secret: "9d0e1f2a-1111-4222-8333-444455556666", privileges: ["VM.Audit"] };

let emulator: Emulator;
const clients: ProxmoxClient[] = [];

beforeAll(async () => {
  emulator = await startEmulator({
    nodes: ["n1", "n2"], taskMs: 20, lockScale: 0.01, authFailureDelayMs: 0, notice: () => {},
    tokens: [DEFAULT_TOKEN, AUDITOR],
  });
});
afterEach(async () => {
  emulator.setFaults({});
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(() => emulator.stop());

function client(options: Partial<ProxmoxOptions> = {}): ProxmoxClient {
  const c = new ProxmoxClient({
    endpoint: emulator.url, tokenId: DEFAULT_TOKEN.id, tokenSecret: DEFAULT_TOKEN.secret,
    tls: { fingerprint: emulator.fingerprint }, taskPollMs: 10, ...options,
  });
  clients.push(c);
  return c;
}

async function failure(call: Promise<unknown>): Promise<unknown> {
  return call.then(() => undefined, (e: unknown) => e);
}

describe("against the emulator", () => {
  test("pinned and CA-verified connections work", async () => {
    expect(await client().get<{ version: string }>("/version")).toMatchObject({ version: expect.stringMatching(/^9\./) });
    expect(await client({ tls: { caPem: emulator.caPem } }).get<unknown[]>("/nodes")).toHaveLength(2);
  });

  test("a wrong secret is an AuthError", async () => {
    expect(await failure(client({ tokenSecret: "00000000-0000-4000-8000-000000000000" }).get("/version"))).toBeInstanceOf(AuthError);
  });

  test("create, read back and destroy a VM through tasks", async () => {
    const c = client();
    const upid = await c.post<string>(apiPath`/nodes/${"n2"}/qemu`, {
      vmid: 300, name: "server01", memory: 1024, cores: 2, onboot: true, scsi0: "local-lvm:4",
      tags: ["starbase", "starbase-test"], description: "first line\nsecond line & more",
    });
    expect(await c.waitTask(upid)).toEqual({ exitstatus: "OK", warnings: 0 });
    const config = await c.get<Record<string, unknown>>(apiPath`/nodes/${"n2"}/qemu/${300}/config`);
    expect(config).toMatchObject({ name: "server01", onboot: 1, cores: 2, tags: "starbase;starbase-test" });
    expect(config.description).toBe("first line\nsecond line & more");

    const destroy = await c.delete<string>(apiPath`/nodes/${"n2"}/qemu/${300}`, { purge: true });
    expect((await c.waitTask(destroy)).exitstatus).toBe("OK");
    expect(await failure(c.get(apiPath`/nodes/${"n2"}/qemu/${300}/config`))).toBeInstanceOf(NotFoundError);
  });

  test("schema violations are ParameterErrors naming the parameter", async () => {
    const err = await failure(client().post(apiPath`/nodes/${"n1"}/qemu`, { vmid: 301, name: "bad_name" }));
    expect(err).toBeInstanceOf(ParameterError);
    expect(Object.keys((err as ParameterError).errors)).toEqual(["name"]);
    expect((err as ParameterError).message).toContain("name: ");
  });

  test("a token without VM.PowerMgmt gets a PermissionError with the missing privilege", async () => {
    const err = await failure(client({ tokenId: AUDITOR.id, tokenSecret: AUDITOR.secret })
      .post(apiPath`/nodes/${"n1"}/qemu/${302}/status/start`));
    expect(err).toBeInstanceOf(PermissionError);
    expect((err as PermissionError).aclPath).toBe("/vms/302");
    expect((err as PermissionError).privileges).toEqual(["VM.PowerMgmt"]);
  });

  test("an uploaded ISO with checksum appears in the storage", async () => {
    const c = client();
    const data = new Uint8Array(300_000).map((_, i) => (i * 7) % 256);
    const sha256 = createHash("sha256").update(data).digest("hex");
    const upid = await c.upload("n1", "local", "iso", "seed-server01.iso", data, { algorithm: "sha256", value: sha256 });
    expect((await c.waitTask(upid)).exitstatus).toBe("OK");
    const listing = await c.get<{ volid: string; size: number }[]>(apiPath`/nodes/${"n1"}/storage/${"local"}/content`, { content: "iso" });
    expect(listing).toContainEqual(expect.objectContaining({ volid: "local:iso/seed-server01.iso", size: data.length }));
  });

  test("injected proxy timeouts surface as TransientError", async () => {
    emulator.setFaults({ seed: 1, rates: { timeout596: 1 } });
    const err = await failure(client().get(apiPath`/nodes/${"n1"}/qemu`));
    expect(err).toBeInstanceOf(TransientError);
    expect((err as TransientError).status).toBe(596);
  });
});
