// The upload body as pveproxy's streaming parser needs it, checked byte for byte on the server.

import { createHash, randomBytes } from "node:crypto";
import { describe, expect, test } from "bun:test";
import { ProxmoxError } from "../../src/proxmox/index.ts";
import { useFixture } from "./fixture.ts";
import { type SeenRequest, reply } from "./server.ts";

const UPID = "UPID:pve1:0000A1B2:0123ABCD:6650F00D:imgcopy::starbase@pve!cli:";
const fx = useFixture();

interface Part {
  headers: string[];
  data: Buffer;
}

/** Splits a multipart body the strict way: CRLF everywhere, nothing after the closing delimiter. */
function parseMultipart(req: SeenRequest): { boundary: string; parts: Part[] } {
  const contentType = req.headers["content-type"] ?? "";
  const boundary = /^multipart\/form-data; boundary=(\S+)$/.exec(contentType)?.[1];
  if (boundary === undefined) throw new Error(`content type ${contentType}`);
  const body = req.body;
  const delimiter = Buffer.from(`--${boundary}`);
  expect(body.subarray(0, delimiter.length).equals(delimiter)).toBe(true);
  const parts: Part[] = [];
  let at = delimiter.length;
  for (;;) {
    const after = body.subarray(at, at + 2).toString("latin1");
    if (after === "--") {
      expect(body.subarray(at + 2).toString("latin1")).toBe("\r\n");
      return { boundary, parts };
    }
    expect(after).toBe("\r\n");
    const headerEnd = body.indexOf("\r\n\r\n", at + 2, "latin1");
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headerEnd + 4);
    expect(next).toBeGreaterThan(0);
    parts.push({
      headers: body.subarray(at + 2, headerEnd).toString("latin1").split("\r\n"),
      data: body.subarray(headerEnd + 4, next),
    });
    at = next + 2 + delimiter.length;
  }
}

function answerUpload(response: unknown = { data: UPID }): void {
  fx.answer((_req, res) => reply(res, 200, response));
}

describe("upload", () => {
  test("sends content, checksum fields and the file part in pveproxy's order, byte-exact", async () => {
    answerUpload();
    // Binary data containing CRLFs, dashes and a boundary-looking line.
    const data = Buffer.concat([randomBytes(50_000), Buffer.from("\r\n--starbase-0123\r\n--\r\n"), randomBytes(50_000)]);
    const sha256 = createHash("sha256").update(data).digest("hex");
    const upid = await fx.client().upload("pve1", "local", "iso", "seed-server01.iso", data, { algorithm: "sha256", value: sha256.toUpperCase() });
    expect(upid).toBe(UPID);

    const [req] = fx.server.requests;
    if (req === undefined) throw new Error("no request");
    expect(req.method).toBe("POST");
    expect(req.url).toBe("/api2/json/nodes/pve1/storage/local/upload");
    expect(Number(req.headers["content-length"])).toBe(req.body.length);
    expect(req.headers["transfer-encoding"]).toBeUndefined();

    const { boundary, parts } = parseMultipart(req);
    expect(parts.map((p) => p.headers)).toEqual([
      ['Content-Disposition: form-data; name="content"'],
      ['Content-Disposition: form-data; name="checksum-algorithm"'],
      ['Content-Disposition: form-data; name="checksum"'],
      ['Content-Disposition: form-data; name="filename"; filename="seed-server01.iso"', "Content-Type: application/octet-stream"],
    ]);
    expect(parts.slice(0, 3).map((p) => p.data.toString())).toEqual(["iso", "sha256", sha256]);
    expect(parts[3]?.data.equals(data)).toBe(true);

    const expected = Buffer.concat([
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="content"\r\n\r\niso\r\n`
        + `--${boundary}\r\nContent-Disposition: form-data; name="checksum-algorithm"\r\n\r\nsha256\r\n`
        + `--${boundary}\r\nContent-Disposition: form-data; name="checksum"\r\n\r\n${sha256}\r\n`
        + `--${boundary}\r\nContent-Disposition: form-data; name="filename"; filename="seed-server01.iso"\r\n`
        + "Content-Type: application/octet-stream\r\n\r\n"),
      data,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    expect(req.body.equals(expected)).toBe(true);
  });

  test("without a checksum only content and the file are sent; an empty file is fine", async () => {
    answerUpload();
    await fx.client().upload("pve1", "local", "import", "microos.qcow2", new Uint8Array(0));
    const req = fx.server.requests[0];
    if (req === undefined) throw new Error("no request");
    const { parts } = parseMultipart(req);
    expect(parts.map((p) => p.headers[0])).toEqual([
      'Content-Disposition: form-data; name="content"',
      'Content-Disposition: form-data; name="filename"; filename="microos.qcow2"',
    ]);
    expect(parts[0]?.data.toString()).toBe("import");
    expect(parts[1]?.data.length).toBe(0);
  });

  test("a view into a larger buffer uploads only the viewed bytes", async () => {
    answerUpload();
    const backing = Buffer.from("XXXXhello isoYYYY");
    await fx.client().upload("pve1", "local", "iso", "x.iso", new Uint8Array(backing.buffer, backing.byteOffset + 4, 9));
    const req = fx.server.requests[0];
    if (req === undefined) throw new Error("no request");
    expect(parseMultipart(req).parts[1]?.data.toString()).toBe("hello iso");
  });

  test("names pveproxy would rewrite or split, and malformed checksums, are refused before sending", async () => {
    answerUpload();
    const c = fx.client();
    for (const name of ["", "a b.iso", 'x".iso', "x;y.iso", "x,y.iso", "../x.iso", "dir/x.iso", ".hidden.iso", "é.iso", `${"a".repeat(252)}.iso`]) {
      await expect(c.upload("pve1", "local", "iso", name, new Uint8Array(1))).rejects.toThrow(/upload filename/);
    }
    await expect(c.upload("pve1", "local", "iso", "x.iso", new Uint8Array(1), { algorithm: "sha256", value: "abc" }))
      .rejects.toThrow(/sha256 hex digest/);
    expect(fx.server.requests.length).toBe(0);
  });

  test("the request timeout grows with the upload size", async () => {
    fx.answer((_req, res) => setTimeout(() => reply(res, 200, { data: UPID }), 300));
    const c = fx.client({ requestTimeoutMs: 100 });
    expect(await c.upload("pve1", "local", "iso", "x.iso", new Uint8Array(2 * 1024 * 1024))).toBe(UPID);
    await expect(c.get("/version")).rejects.toThrow("did not answer within 100 ms");
  });

  test("an answer without a UPID is an error", async () => {
    answerUpload({ data: null });
    await expect(fx.client().upload("pve1", "local", "iso", "x.iso", new Uint8Array(1))).rejects.toBeInstanceOf(ProxmoxError);
  });
});
