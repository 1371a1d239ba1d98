// The multipart/form-data body of POST /nodes/{node}/storage/{storage}/upload, built in one
// buffer so that Content-Length is exact (pveproxy refuses chunked uploads). pveproxy's
// streaming parser understands only this order: `content`, optional `checksum-algorithm`,
// optional `checksum`, then the file part, which must be named `filename` and carry the
// target name in its filename="…" attribute.

import { randomBytes } from "node:crypto";

export type UploadContent = "iso" | "import" | "vztmpl";

export interface UploadChecksum {
  algorithm: "sha256";
  /** Lower- or upper-case hex digest of `data`. */
  value: string;
}

export interface UploadPart {
  content: UploadContent;
  filename: string;
  data: Uint8Array;
  checksum?: UploadChecksum;
}

// pveproxy splits Content-Disposition on ";" and "," and normalises other characters to "_";
// refusing them here keeps the stored name the one the caller asked for.
const UPLOAD_FILENAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

export function buildUploadBody(part: UploadPart): { body: Uint8Array; contentType: string } {
  if (!UPLOAD_FILENAME.test(part.filename) || part.filename.length > 255) {
    throw new TypeError(`upload filename ${JSON.stringify(part.filename)} must be 1–255 characters of A-Z a-z 0-9 _ . -`);
  }
  if (part.checksum !== undefined && !/^[0-9A-Fa-f]{64}$/.test(part.checksum.value)) {
    throw new TypeError("upload checksum must be a sha256 hex digest (64 hex digits)");
  }
  const boundary = freshBoundary(part.data);
  const fields: [string, string][] = [["content", part.content]];
  if (part.checksum !== undefined) {
    fields.push(["checksum-algorithm", part.checksum.algorithm], ["checksum", part.checksum.value.toLowerCase()]);
  }
  let head = "";
  for (const [name, value] of fields) {
    head += `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
  }
  head += `--${boundary}\r\nContent-Disposition: form-data; name="filename"; filename="${part.filename}"\r\n`
    + "Content-Type: application/octet-stream\r\n\r\n";
  const tail = `\r\n--${boundary}--\r\n`;
  return {
    body: Buffer.concat([Buffer.from(head, "latin1"), part.data, Buffer.from(tail, "latin1")]),
    // pveproxy takes the boundary parameter verbatim: it must stay unquoted.
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

function freshBoundary(data: Uint8Array): string {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  for (;;) {
    const boundary = `starbase-${randomBytes(16).toString("hex")}`;
    if (!bytes.includes(boundary, 0, "latin1")) return boundary;
  }
}
