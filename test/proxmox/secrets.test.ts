// The token secret must not surface anywhere: not in any error (message, stack, inspected
// form, JSON, causes) and not in the inspected or serialised client.

import { inspect } from "node:util";
import { describe, expect, test } from "bun:test";
import {
  AuthError, LockTimeoutError, NotFoundError, ParameterError, PermissionError, ProxmoxClient, ProxmoxError, TaskError,
  TaskTimeoutError, TlsError, TransientError, apiPath,
} from "../../src/proxmox/index.ts";
import { TOKEN_SECRET, useFixture } from "./fixture.ts";
import { reply } from "./server.ts";

const UPID = "UPID:pve1:0000A1B2:0123ABCD:6650F00D:qmstart:100:starbase@pve!cli:";
const fx = useFixture();

/** Every way the error could be shown or logged. */
function renderings(value: unknown): string[] {
  const err = value as Error;
  return [
    String(value), err.message ?? "", err.stack ?? "", inspect(value, { showHidden: true, depth: 10 }), Bun.inspect(value),
    JSON.stringify(value) ?? "", JSON.stringify(Object.getOwnPropertyNames(value).map((k) => String((value as Record<string, unknown>)[k]))),
  ];
}

function expectNoSecret(value: unknown, secret = TOKEN_SECRET): void {
  for (const text of renderings(value)) expect(text).not.toContain(secret);
}

async function caught(call: () => Promise<unknown>): Promise<unknown> {
  return call().then(() => {
    throw new Error("expected a failure");
  }, (e: unknown) => e);
}

describe("the token secret", () => {
  test("is in no error of any class", async () => {
    const errors: unknown[] = [];
    const answers: [number, unknown, string, new (...args: never[]) => ProxmoxError][] = [
      [401, undefined, "authentication failure", AuthError],
      [403, { data: null, message: "Permission check failed (/vms/100, VM.Allocate)\n" }, "Permission check failed (/vms/100, VM.Allocate)", PermissionError],
      [400, { data: null, errors: { vmid: "VM 100 already exists" } }, "Parameter verification failed.", ParameterError],
      [500, { data: null }, "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist", NotFoundError],
      [500, { data: null }, "can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout", LockTimeoutError],
      [596, undefined, "Connection timed out", TransientError],
      [500, { data: null }, "VM 100 already exists", ProxmoxError],
    ];
    for (const [status, body, reason, kind] of answers) {
      fx.answer((_req, res) => reply(res, status, body, reason));
      const err = await caught(() => fx.client().post(apiPath`/nodes/${"pve1"}/qemu`, { vmid: 100 }));
      expect(err).toBeInstanceOf(kind);
      errors.push(err);
    }

    fx.answer((_req, res) => res.socket?.destroy());
    errors.push(await caught(() => fx.client().get("/version")));
    fx.answer(() => undefined);
    errors.push(await caught(() => fx.client({ requestTimeoutMs: 100 }).get("/version")));
    errors.push(await caught(() => fx.client({ endpoint: "https://127.0.0.1:1" }).get("/version")));
    errors.push(await caught(() => fx.client({ tls: { fingerprint: "00".repeat(32) } }).get("/version")));
    errors.push(await caught(() => fx.client({ tls: undefined }).get("/version")));

    fx.answer((req, res) => req.url.includes("/log")
      ? reply(res, 200, { data: [{ n: 1, t: "TASK ERROR: start failed" }], total: 1 })
      : reply(res, 200, { data: { upid: UPID, node: "pve1", status: "stopped", exitstatus: "start failed" } }));
    errors.push(await caught(() => fx.client().waitTask(UPID)));
    fx.answer((_req, res) => reply(res, 200, { data: { upid: UPID, node: "pve1", status: "running" } }));
    errors.push(await caught(() => fx.client().waitTask(UPID, { timeoutMs: 20 })));

    errors.push(await caught(() => fx.client().get("/not encoded")));
    errors.push(await caught(() => fx.client().upload("pve1", "local", "iso", "bad name", new Uint8Array(1))));

    const kinds = errors.map((e) => (e as Error).constructor.name);
    for (const kind of [TransientError, TlsError, TaskError, TaskTimeoutError, TypeError]) expect(kinds).toContain(kind.name);
    expect(kinds.filter((k) => k === TlsError.name).length).toBe(2);
    for (const err of errors) expectNoSecret(err);
  });

  test("is in no error about invalid options", () => {
    const secret = "not a valid; secret-9f8e7d";
    const err = (() => {
      try {
        return new ProxmoxClient({ endpoint: "https://127.0.0.1:8006", tokenId: "starbase@pve!cli", tokenSecret: secret });
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(TypeError);
    expectNoSecret(err, secret);
    expectNoSecret(err, "secret-9f8e7d");
  });

  test("is not visible on the client", () => {
    const client = fx.client();
    const shown = [inspect(client, { showHidden: true, depth: 10 }), Bun.inspect(client), JSON.stringify(client), String(client),
      JSON.stringify(Object.keys(client)), JSON.stringify({ ...client })];
    for (const text of shown) expect(text).not.toContain(TOKEN_SECRET);
    expect(inspect(client)).toContain("starbase@pve!cli");
    expect(JSON.parse(JSON.stringify(client))).toEqual({ endpoint: fx.server.origin, tokenId: "starbase@pve!cli" });
  });
});
