// What goes back on the wire, in the format of pve-http-server: reason phrase = first line of the
// message, JSON bodies with `data` (and `errors`/`message` for errors), Connection: close on errors.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { gzipSync } from "node:zlib";
import { ApiError, handlerError } from "./errors.ts";
import { Envelope, type Release, atLeast } from "./routes/context.ts";

export type Outcome = { drop: true } | { drop: false; status: number; reason: string; body?: string };

const MAX_REQUESTS_PER_CONNECTION = 100;

export function errorOutcome(error: unknown, release: Release): Outcome {
  const apiError = error instanceof ApiError ? error : handlerError(error instanceof Error ? error.message : String(error));
  if (apiError.emptyBody) return { drop: false, status: apiError.status, reason: apiError.reason };
  const body: Record<string, unknown> = { data: null };
  if (apiError.errors) body.errors = apiError.errors;
  // libpve-http-server-perl 5.2.0 (PVE 8.3 updates, 8.4+) added the full text to error bodies.
  if (atLeast(release, 8, 3)) body.message = apiError.message;
  return { drop: false, status: apiError.status, reason: apiError.reason, body: JSON.stringify(body) };
}

export function successOutcome(result: unknown): Outcome {
  const body = result instanceof Envelope ? { data: result.data, ...result.extra } : { data: result ?? null };
  return { drop: false, status: 200, reason: "OK", body: JSON.stringify(body) };
}

/** Writes responses; keeps a connection alive for at most 100 successful requests, like pveproxy. */
export class Responder {
  private readonly requestsPerSocket = new WeakMap<Socket, number>();

  send(request: IncomingMessage, response: ServerResponse, outcome: Outcome): void {
    if (outcome.drop) {
      request.socket.destroy();
      return;
    }
    const count = (this.requestsPerSocket.get(request.socket) ?? 0) + 1;
    this.requestsPerSocket.set(request.socket, count);
    const keepAlive = outcome.status < 400 && count < MAX_REQUESTS_PER_CONNECTION && request.headers.connection?.toLowerCase() !== "close";
    const now = new Date().toUTCString();
    const headers: Record<string, string | number> = {
      "Cache-Control": "max-age=0",
      Connection: keepAlive ? "Keep-Alive" : "close",
      Date: now,
      Expires: now,
      Pragma: "no-cache",
      Server: "pve-api-daemon/3.0",
    };
    let payload: Buffer | undefined;
    if (outcome.body !== undefined) {
      payload = Buffer.from(outcome.body, "utf8");
      headers["Content-Type"] = "application/json;charset=UTF-8";
      if (payload.length > 1024 && /gzip/.test(request.headers["accept-encoding"] ?? "")) {
        payload = gzipSync(payload);
        headers["Content-Encoding"] = "gzip";
      }
    }
    headers["Content-Length"] = payload?.length ?? 0;
    response.writeHead(outcome.status, outcome.reason, headers);
    response.end(payload);
    if (!keepAlive) response.once("finish", () => request.socket.end());
  }
}
