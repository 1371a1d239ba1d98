// Uses a kubeconfig once, as its owner would: /readyz and the node list with its own client
// certificate, the server's certificate checked against the kubeconfig's CA and the server's
// address (an IP VIP must be in the certificate's SANs). The TCP stream comes from the caller,
// so the check runs through the SSH jump chain when this machine cannot reach the VIP itself.
// HTTP is the npm undici package, loaded by file: Bun's built-in stand-in ignores TLS options.
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import * as undici from "undici/index.js";
import type { KubeconfigAccess } from "../render/kubeconfig.ts";

export type OpenStream = (host: string, port: number, timeoutMs: number) => Promise<Duplex>;

export interface NodeState {
  name: string;
  ready: boolean;
}

export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
}

interface NodeList {
  items?: Array<{ metadata?: { name?: string }; status?: { conditions?: Array<{ type?: string; status?: string }> } }>;
}

/** A TLS connection over the opened stream, verified as https://host would be; the callback gets it once the handshake passed. */
function connector(access: KubeconfigAccess, open: OpenStream, timeoutMs: number): undici.buildConnector.connector {
  return (_opts, callback) => {
    let settled = false;
    const settle = (err: Error | null, socket: tls.TLSSocket | null) => {
      if (settled) {
        socket?.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      if (err === null) callback(null, socket!);
      else {
        socket?.destroy();
        callback(err, null);
      }
    };
    const timer = setTimeout(() => settle(new KubeApiError(`no TLS connection to ${access.server} within ${timeoutMs} ms`), null), timeoutMs);
    open(access.host, access.port, timeoutMs).then((stream) => {
      if (settled) {
        stream.destroy();
        return;
      }
      const socket = tls.connect({
        socket: stream,
        host: access.host,
        // SNI carries host names only, never IP addresses.
        ...(isIP(access.host) === 0 && { servername: access.host }),
        ca: access.caPem,
        cert: access.certPem,
        key: access.keyPem,
        ALPNProtocols: ["http/1.1"],
      });
      socket.once("secureConnect", () => settle(null, socket));
      // Stays attached: errors after the hand-over are undici's, and must not become uncaught here.
      socket.on("error", (err: Error) => settle(new KubeApiError(`TLS to ${access.server}: ${err.message}`), socket));
    }, (err: Error) => settle(new KubeApiError(`cannot reach ${access.server}: ${err.message}`), null));
  };
}

async function get(client: undici.Client, path: string, server: string, timeoutMs: number): Promise<string> {
  const response = await client.request({ path, method: "GET", headers: { accept: "application/json" }, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const body = await response.body.text();
  if (response.statusCode !== 200) throw new KubeApiError(`GET ${server}${path}: HTTP ${response.statusCode}: ${body.trim().slice(0, 200)}`);
  return body;
}

/** /readyz answers "ok" and the nodes as the API lists them to this kubeconfig's user. */
export async function checkApi(access: KubeconfigAccess, open: OpenStream, timeoutMs: number): Promise<NodeState[]> {
  const client = new undici.Client(access.server, { connect: connector(access, open, timeoutMs), pipelining: 1 });
  try {
    const ready = await get(client, "/readyz", access.server, timeoutMs);
    if (ready.trim() !== "ok") throw new KubeApiError(`GET ${access.server}/readyz answered ${JSON.stringify(ready.trim().slice(0, 200))}, not "ok"`);
    const list = JSON.parse(await get(client, "/api/v1/nodes", access.server, timeoutMs)) as NodeList;
    return (list.items ?? []).map((node) => ({
      name: node.metadata?.name ?? "",
      ready: node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true,
    }));
  } catch (err) {
    if (err instanceof KubeApiError) throw err;
    throw new KubeApiError(`${access.server}: ${(err as Error).message}`);
  } finally {
    await client.destroy().catch(() => undefined);
  }
}
