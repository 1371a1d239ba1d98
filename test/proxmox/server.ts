// A small HTTPS server on 127.0.0.1 that records every request it receives (fully read) and
// every TLS connection, and lets each test answer however a real Proxmox would.

import type { IncomingHttpHeaders, ServerResponse } from "node:http";
import * as https from "node:https";
import type { Socket } from "node:net";
import type { KeyPair } from "./pki.ts";

export interface SeenRequest {
  method: string;
  /** Raw request target as sent, e.g. "/api2/json/version?x=1". */
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export type Handler = (req: SeenRequest, res: ServerResponse) => void;

export interface TestServer {
  origin: string;
  requests: SeenRequest[];
  /** TCP connections accepted. */
  connections: number;
  /** Resolves once at least `count` connections were accepted and all of them are closed again. */
  allClosed(count: number): Promise<void>;
  close(): Promise<void>;
}

export async function startServer(pair: KeyPair, handler: Handler): Promise<TestServer> {
  const sockets = new Set<Socket>();
  const server = https.createServer({ key: pair.key, cert: pair.cert });
  const state: TestServer = {
    origin: "",
    requests: [],
    connections: 0,
    allClosed: async (count) => {
      const deadline = Date.now() + 5_000;
      while (state.connections < count || sockets.size > 0) {
        if (Date.now() > deadline) throw new Error(`connections: ${state.connections} accepted, ${sockets.size} still open`);
        await Bun.sleep(5);
      }
    },
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
  server.on("connection", (socket: Socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("request", (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const seen = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks) };
      state.requests.push(seen);
      handler(seen, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("test server has no TCP address");
  state.origin = `https://127.0.0.1:${address.port}`;
  return state;
}

/** Answers like pveproxy: JSON body (if any), the given reason phrase, Connection: close on errors. */
export function reply(res: ServerResponse, status: number, body?: unknown, reason?: string): void {
  const text = body === undefined ? "" : JSON.stringify(body);
  const headers: Record<string, string> = { "content-length": String(Buffer.byteLength(text)) };
  if (text !== "") headers["content-type"] = "application/json;charset=UTF-8";
  if (status >= 400) headers.connection = "close";
  if (reason === undefined) res.writeHead(status, headers);
  else res.writeHead(status, reason, headers);
  res.end(text);
}
