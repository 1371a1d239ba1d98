// The small HTTP layer the supervisor and the API share: node:https (Bun.serve cannot tell a
// handler whether the client certificate verified; node:https's socket.authorized can), a body
// reader and JSON replies. A handler returns a Reply; a thrown error becomes a 500.

import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import { log } from "./records.ts";

export interface Request {
  method: string;
  url: URL;
  headers: IncomingMessage["headers"];
  body: string;
  /** The TCP peer (haproxy's address when the request came through it). */
  peer: string;
  /** The host the client asked for (Host header, without port). */
  urlHost: string;
  /** Whether a client certificate was presented and verified against the configured CA. */
  authorized: boolean;
  raw: IncomingMessage;
  response: ServerResponse;
}

export interface Reply {
  status: number;
  body: string;
  contentType?: string;
  /** Set when the handler already wrote the response itself (a watch stream). */
  streamed?: boolean;
}

export const json = (status: number, value: unknown): Reply => ({ status, body: JSON.stringify(value), contentType: "application/json" });
export const text = (status: number, value: string): Reply => ({ status, body: value, contentType: "text/plain; charset=utf-8" });

function hostOf(header: string | undefined): string {
  if (header === undefined) return "";
  const bracket = /^\[([^\]]+)\]/.exec(header);
  if (bracket) return bracket[1]!;
  return header.split(":")[0] ?? "";
}

export interface TlsOptions {
  cert: string;
  key: string;
  /** Client CA: when set, clients are asked for a certificate that is verified against it. */
  clientCA?: string;
}

export function serve(tls: TlsOptions, host: string, port: number, handler: (request: Request) => Promise<Reply>): Promise<Server> {
  const server = createServer(
    { cert: tls.cert, key: tls.key, ...(tls.clientCA ? { ca: tls.clientCA, requestCert: true, rejectUnauthorized: false } : {}) },
    (raw, response) => {
      const chunks: Buffer[] = [];
      raw.on("data", (chunk: Buffer) => chunks.push(chunk));
      raw.on("end", () => {
        const socket = raw.socket as IncomingMessage["socket"] & { authorized?: boolean };
        const request: Request = {
          method: raw.method ?? "GET",
          url: new URL(raw.url ?? "/", "https://stand-in"),
          headers: raw.headers,
          body: Buffer.concat(chunks).toString(),
          peer: (socket.remoteAddress ?? "").replace(/^::ffff:/, ""),
          urlHost: hostOf(raw.headers.host),
          authorized: socket.authorized === true,
          raw,
          response,
        };
        handler(request)
          .catch((error: Error): Reply => {
            log("error", `${request.method} ${request.url.pathname}: ${error.message}`);
            return json(500, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: error.message, reason: "InternalError", code: 500 });
          })
          .then((reply) => {
            if (reply.streamed) return;
            response.writeHead(reply.status, { "content-type": reply.contentType ?? "application/json" });
            response.end(reply.body);
          });
      });
    },
  );
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
