// A small HTTPS client for the emulator tests: node:https with the emulator's certificate as CA
// (no verification shortcuts), exposing status, reason phrase, headers and the parsed body.
import type { IncomingHttpHeaders } from "node:http";
import { request } from "node:https";
import { type Emulator, startEmulator } from "./server.ts";
import { DEFAULT_TOKEN, type EmulatorOptions } from "./options.ts";

export interface ApiResponse {
  /** 0 when the connection ended without a response. */
  status: number;
  reason: string;
  headers: IncomingHttpHeaders;
  raw: string;
  /** Parsed JSON; `any` because tests inspect it field by field. */
  body: any;
  error?: string;
}

export interface CallOptions {
  /** Authorization header value; null sends none. */
  authorization?: string | null;
  json?: boolean;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

export type Params = Record<string, string | number | boolean | undefined>;

export const tokenHeader = (id: string, secret: string): string => `PVEAPIToken=${id}=${secret}`;

export class ApiClient {
  constructor(
    private readonly emulator: Emulator,
    private readonly authorization: string | null = tokenHeader(DEFAULT_TOKEN.id, DEFAULT_TOKEN.secret),
  ) {}

  call(method: string, path: string, params: Params = {}, options: CallOptions = {}): Promise<ApiResponse> {
    const defined = Object.entries(params).filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined);
    const form = new URLSearchParams(defined.map(([key, value]): [string, string] => [key, String(value)])).toString();
    const inQuery = method === "GET" || method === "DELETE";
    let body = options.body;
    const headers: Record<string, string> = { ...options.headers };
    if (body === undefined && !inQuery && defined.length > 0) {
      body = options.json ? JSON.stringify(Object.fromEntries(defined)) : form;
      headers["Content-Type"] = options.json ? "application/json" : "application/x-www-form-urlencoded";
    }
    const authorization = options.authorization === undefined ? this.authorization : options.authorization;
    if (authorization !== null) headers.Authorization = authorization;
    if (body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(body));
    const target = `/api2/json${path}${inQuery && form ? `?${form}` : ""}`;
    return new Promise((resolve) => {
      const outgoing = request(
        { host: "127.0.0.1", port: this.emulator.port, method, path: target, headers, ca: this.emulator.caPem, agent: false },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (chunk: Buffer) => chunks.push(chunk));
          response.on("end", () => {
            const raw = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown;
            try {
              parsed = raw === "" ? undefined : JSON.parse(raw);
            } catch {
              parsed = undefined;
            }
            resolve({ status: response.statusCode ?? 0, reason: response.statusMessage ?? "", headers: response.headers, raw, body: parsed });
          });
        },
      );
      outgoing.on("error", (error: NodeJS.ErrnoException) =>
        resolve({ status: 0, reason: "", headers: {}, raw: "", body: undefined, error: error.code ?? error.message }),
      );
      if (body !== undefined) outgoing.write(body);
      outgoing.end();
    });
  }

  /** Polls the task status like a client would, then returns the final status and the log. */
  async waitTask(upid: string): Promise<{ status: Record<string, unknown>; log: string[] }> {
    const node = upid.split(":")[1] ?? "";
    for (;;) {
      const status = await this.call("GET", `/nodes/${node}/tasks/${encodeURIComponent(upid)}/status`);
      if (status.status !== 200) throw new Error(`task status failed: ${status.status} ${status.reason}`);
      if (status.body.data.status === "stopped") {
        const log = await this.call("GET", `/nodes/${node}/tasks/${encodeURIComponent(upid)}/log`, { limit: 1000 });
        return { status: status.body.data, log: log.body.data.map((line: { t: string }) => line.t) };
      }
      await Bun.sleep(10);
    }
  }

  /** Issues a call that returns a UPID and waits for its task. */
  async run(method: string, path: string, params: Params = {}): Promise<{ status: Record<string, unknown>; log: string[] }> {
    const response = await this.call(method, path, params);
    if (response.status !== 200) throw new Error(`${method} ${path}: ${response.status} ${response.reason}`);
    return this.waitTask(response.body.data);
  }
}

/** A multipart body the way browsers and curl build it. */
export function multipart(boundary: string, parts: { name: string; value: string | Buffer; filename?: string }[]): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename ? `; filename="${part.filename}"` : ""}`;
    const type = part.filename ? "Content-Type: application/octet-stream\r\n" : "";
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n${type}\r\n`));
    chunks.push(Buffer.isBuffer(part.value) ? part.value : Buffer.from(part.value));
    chunks.push(Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}

/** An emulator with fast tasks and scaled-down lock timeouts, and a client with the default token. */
export async function emulatorForTest(options: EmulatorOptions = {}): Promise<{ emulator: Emulator; api: ApiClient }> {
  const emulator = await startEmulator({ taskMs: 20, lockScale: 0.01, notice: () => {}, ...options });
  return { emulator, api: new ApiClient(emulator) };
}
