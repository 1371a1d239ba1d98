// Request parameter decoding as pve-http-server does it: query strings and form bodies
// (decode_urlencoded), JSON bodies, and the order-sensitive multipart parser of file uploads.
import { ApiError, handlerError } from "./errors.ts";

function percentDecode(text: string): string {
  const bytes = Buffer.from(
    text.replace(/\+/g, " ").replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))),
    "latin1",
  );
  return bytes.toString("utf8");
}

/** decode_urlencoded: `&`/`;` separated, only the text up to a second `=` counts, repeats join with NUL. */
export function decodeUrlencoded(data: string): Record<string, string> {
  const result: Record<string, string> = {};
  if (!data) return result;
  for (const pair of data.split(/[&;]/)) {
    const pieces = pair.split("=");
    const key = percentDecode(pieces[0] ?? "");
    const raw = pieces[1];
    if (raw === undefined) {
      delete result[key];
      continue;
    }
    const value = percentDecode(raw);
    result[key] = result[key] === undefined ? value : `${result[key]}\0${value}`;
  }
  return result;
}

export function decodeJsonBody(body: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (error) {
    throw handlerError(`malformed JSON string: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw handlerError("malformed JSON string: expected an object");
  }
  return parsed as Record<string, unknown>;
}

export interface MultipartUpload {
  params: Record<string, string>;
  filename: string;
  data: Buffer;
}

const escapeRegex = (text: string): string => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/**
 * file_upload_multipart: phase 1 takes the parts `content`, `checksum-algorithm` and `checksum`
 * (in that order, each only if it is next), then the file part, which must be named `filename`;
 * anything else leaves the parser short of the closing boundary ("upload failed").
 */
export function parseUploadMultipart(body: Buffer, boundary: string): MultipartUpload {
  let buffer = body.toString("latin1");
  const newline = "\\r?\\n";
  const delimiter = `--${escapeRegex(boundary)}${newline}`;
  const closeDelimiter = `--${escapeRegex(boundary)}--`;
  const params: Record<string, string> = {};

  const start = new RegExp(`^.*?(${delimiter})`, "s").exec(buffer);
  if (!start) throw new ApiError(501, "upload failed");
  buffer = buffer.slice(start.index + start[0].length - (start[1] ?? "").length);

  const removeUntilData = (): void => {
    buffer = buffer.replace(new RegExp(`^.*?(?:${newline}){2}`, "s"), "");
  };
  const assertFormData = (disposition: string): void => {
    if (disposition !== "form-data") {
      throw new ApiError(501, `wrong Content-Disposition '${disposition}' in multipart, expected 'form-data'`);
    }
  };
  for (const name of ["content", "checksum-algorithm", "checksum"]) {
    const part = new RegExp(`^${delimiter}.*?Content-Disposition: (.*?); name="${escapeRegex(name)}"(.*?${delimiter})`, "s").exec(buffer);
    if (!part) continue;
    assertFormData(part[1] ?? "");
    buffer = (part[2] ?? "") + buffer.slice(part.index + part[0].length);
    removeUntilData();
    const value = new RegExp(`^(.*?)(${delimiter})`, "s").exec(buffer);
    if (value) {
      params[name] = (value[1] ?? "").trim();
      buffer = buffer.slice((value[1] ?? "").length);
    }
  }

  const filePart = new RegExp(`^${delimiter}Content-Disposition: (.*?); name="(.*?)"; filename="([^"]+)"${newline}`, "s").exec(buffer);
  if (!filePart) throw new ApiError(501, "upload failed");
  assertFormData(filePart[1] ?? "");
  if (filePart[2] !== "filename") throw new ApiError(501, `wrong field name '${filePart[2]}' for file upload, expected 'filename'`);
  const filename = (filePart[3] ?? "").trim();
  buffer = buffer.slice(filePart[0].length);
  removeUntilData();
  const data = new RegExp(`^(.*?)(?:${newline})?${closeDelimiter}`, "s").exec(buffer);
  if (!data) throw new ApiError(501, "upload failed");
  return { params, filename, data: Buffer.from(data[1] ?? "", "latin1") };
}

export function multipartBoundary(contentType: string): string | undefined {
  const [type, ...parameters] = contentType.split(/\s*[;,]\s*/);
  if (type !== "multipart/form-data") return undefined;
  for (const parameter of parameters) {
    const match = /^\s*boundary\s*=\s*(\S+?)\s*$/.exec(parameter);
    if (match) return match[1]?.replace(/^"(.*)"$/, "$1");
  }
  return undefined;
}
