// Certificate trust. Every refusal must happen before any HTTP request reaches the server,
// so the API token is never sent to an untrusted peer: the server counts what it received.
// These tests also prove that the npm undici package is in use: Bun's built-in "undici"
// ignores the `ca` connect option, so "the right CA works" would fail with it.

import { createServer } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, test } from "bun:test";
import { ProxmoxClient, TlsError, isRetryable, normaliseFingerprint } from "../../src/proxmox/index.ts";
import type { TlsTrust } from "../../src/proxmox/index.ts";
import { type Pki, makePki } from "./pki.ts";
import { type TestServer, reply, startServer } from "./server.ts";

let pki: Pki;
let signed: TestServer; // certificate issued by pki.ca
let selfSigned: TestServer;
let otherName: TestServer; // issued by pki.ca for another host name
const clients: ProxmoxClient[] = [];

beforeAll(async () => {
  pki = makePki();
  const version = { data: { version: "8.4.1", release: "8.4", repoid: "abc" } };
  signed = await startServer(pki.server, (_req, res) => reply(res, 200, version));
  selfSigned = await startServer(pki.selfSigned, (_req, res) => reply(res, 200, version));
  otherName = await startServer(pki.otherName, (_req, res) => reply(res, 200, version));
});

afterAll(async () => {
  await signed.close();
  await selfSigned.close();
  await otherName.close();
  pki.remove();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function client(server: TestServer, tls: TlsTrust | undefined): ProxmoxClient {
  const c = new ProxmoxClient({ endpoint: server.origin, tokenId: "starbase@pve!cli", tokenSecret: "0b1e6f2c-aaaa-bbbb-cccc-1234567890ab",
    ...(tls === undefined ? {} : { tls }) });
  clients.push(c);
  return c;
}

/** Asserts the call is refused with a TlsError and that the server got a connection but no request. */
async function expectRefusedBeforeAnyRequest(server: TestServer, tls: TlsTrust | undefined): Promise<TlsError> {
  const requestsBefore = server.requests.length;
  const connectionsBefore = server.connections;
  const c = client(server, tls);
  const err = await c.get("/version").then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(TlsError);
  await c.close();
  await server.allClosed(connectionsBefore + 1);
  expect(server.requests.length).toBe(requestsBefore);
  return err as TlsError;
}

describe("CA trust", () => {
  test("the CA that signed the server certificate is accepted", async () => {
    const before = signed.requests.length;
    expect(await client(signed, { caPem: pki.ca.cert }).get<unknown>("/version")).toEqual(
      { version: "8.4.1", release: "8.4", repoid: "abc" });
    expect(signed.requests.length).toBe(before + 1);
  });

  test("without a CA or pin the system trust store applies and refuses the test CA", async () => {
    const err = await expectRefusedBeforeAnyRequest(signed, undefined);
    expect(err.message).toContain("is not trusted");
    expect(err.message).toContain(signed.origin);
    expect(err.retryable).toBe(false);
  });

  test("a different CA is refused", async () => {
    const err = await expectRefusedBeforeAnyRequest(signed, { caPem: pki.otherCa.cert });
    expect(err.message).toContain("is not trusted");
  });

  test("a certificate from the right CA but for another host name is refused", async () => {
    const err = await expectRefusedBeforeAnyRequest(otherName, { caPem: pki.ca.cert });
    expect(err.reason).toContain("ERR_TLS_CERT_ALTNAME_INVALID");
  });

  test("a self-signed certificate is refused by default", async () => {
    await expectRefusedBeforeAnyRequest(selfSigned, undefined);
  });

  test("caPem must be PEM", () => {
    expect(() => client(signed, { caPem: "not a certificate" })).toThrow(/PEM/);
  });
});

describe("fingerprint pin", () => {
  test("the server certificate's fingerprint is accepted, with or without colons, in any case", async () => {
    const pin = pki.server.fingerprint;
    for (const fingerprint of [pin, pin.replace(/:/g, "").toLowerCase(), pin.toLowerCase()]) {
      expect(await client(signed, { fingerprint }).get<{ version: string }>("/version")).toMatchObject({ version: "8.4.1" });
    }
    expect(await client(selfSigned, { fingerprint: pki.selfSigned.fingerprint }).get<{ version: string }>("/version"))
      .toMatchObject({ version: "8.4.1" });
  });

  test("a wrong pin is refused after the handshake and before any request", async () => {
    const err = await expectRefusedBeforeAnyRequest(signed, { fingerprint: pki.selfSigned.fingerprint });
    expect(err.message).toContain("fingerprint mismatch");
    // The presented fingerprint can only be known from a completed handshake.
    expect(err.message).toContain(`presented SHA-256 ${pki.server.fingerprint}`);
    expect(err.message).toContain(`expected ${pki.selfSigned.fingerprint}`);
    expect(isRetryable(err)).toBe(false);
  });

  test("the CA's own fingerprint does not pin the certificate it signed", async () => {
    await expectRefusedBeforeAnyRequest(signed, { fingerprint: pki.ca.fingerprint });
  });

  test("malformed pins are refused when the client is built", () => {
    for (const fingerprint of ["", "AB:CD", pki.server.fingerprint.slice(3), `${pki.server.fingerprint}:00`, "ZZ".repeat(32)]) {
      expect(() => client(signed, { fingerprint })).toThrow(/SHA-256/);
    }
  });

  test("normaliseFingerprint", () => {
    expect(normaliseFingerprint("ab".repeat(32))).toBe(Array(32).fill("AB").join(":"));
    expect(normaliseFingerprint(` ${pki.server.fingerprint.toLowerCase()} `)).toBe(pki.server.fingerprint);
  });
});

describe("insecure", () => {
  test("accepts any certificate only when asked", async () => {
    expect(await client(selfSigned, { insecure: true }).get<{ version: string }>("/version")).toMatchObject({ version: "8.4.1" });
    expect(await client(signed, { insecure: true }).get<{ version: string }>("/version")).toMatchObject({ version: "8.4.1" });
  });

  test("{ insecure: false } is not a trust mode", () => {
    expect(() => client(selfSigned, { insecure: false } as unknown as TlsTrust)).toThrow(/insecure: true/);
  });
});

describe("not TLS at all", () => {
  test("a plain HTTP port is a TlsError about the handshake, not about trust", async () => {
    const plain = createServer((_req, res) => res.end("hello"));
    await new Promise<void>((resolve) => plain.listen(0, "127.0.0.1", resolve));
    const address = plain.address();
    const port = typeof address === "object" && address !== null ? address.port : 0;
    try {
      const c = new ProxmoxClient({ endpoint: `https://127.0.0.1:${port}`, tokenId: "starbase@pve!cli", tokenSecret: "x-1" });
      clients.push(c);
      const err = await c.get("/version").then(() => undefined, (e: unknown) => e);
      expect(err).toBeInstanceOf(TlsError);
      expect((err as TlsError).message).toContain("TLS handshake with");
      expect((err as TlsError).message).not.toContain("not trusted");
    } finally {
      await new Promise((resolve) => plain.close(resolve));
    }
  });
});

describe("connections", () => {
  test("sequential requests reuse kept-alive connections", async () => {
    const c = client(signed, { caPem: pki.ca.cert });
    const before = signed.connections;
    for (let i = 0; i < 10; i++) await c.get("/version");
    // undici's pool may open a second socket while the first is being released; never one per request.
    expect(signed.connections - before).toBeLessThanOrEqual(2);
  });
});
