// The supervisor on 9345 (k3s pkg/server/router.go, handlers.go, pkg/etcd/etcd.go infoHandler):
//   GET /ping                       → "pong", unauthenticated (haproxy's health check uses it)
//   GET /cacerts                    → the server CA PEM, unauthenticated (joiners hash it)
//   GET /v1-rke2/server-bootstrap   → the cluster CAs, for user "server" with the server token
//   GET /db/info                    → etcd's member list, for user "server"
//   GET /v1-rke2/client-kubelet.crt → a node client certificate (+ key) for the node named in the
//                                     RKE2-Node-Name header, for user "node" or "server"
//   GET /v1-rke2/readyz             → "ok", authenticated
// Lab-only rule (real RKE2 does not check this): everything but /ping must arrive from one of the
// lab's load balancers (haproxy in mode tcp makes the LB the TCP peer) for the VIP (the URL host
// the client asked for). A join that bypasses haproxy is refused with 403 and recorded.

import type { EtcdClient } from "./etcd.ts";
import type { LabHost } from "./host.ts";
import { json, text, type Reply, type Request } from "./http.ts";
import { status } from "./kube.ts";
import { issueCert, type KeyPair } from "./pki.ts";
import { record } from "./records.ts";

export interface BootstrapData {
  serverCA: KeyPair;
  clientCA: KeyPair;
  /** The server token's password and the agent token's (the same when agent-token is unset). */
  serverPassword: string;
  agentPassword: string;
}

export interface SupervisorContext {
  host: LabHost;
  bootstrap: BootstrapData;
  etcd: EtcdClient;
}

export const NODE_NAME_HEADER = "rke2-node-name";

function basicAuth(request: Request): { user: string; password: string } | undefined {
  const header = request.headers.authorization ?? "";
  if (!header.startsWith("Basic ")) return undefined;
  const decoded = Buffer.from(header.slice(6), "base64").toString();
  const colon = decoded.indexOf(":");
  return colon < 0 ? undefined : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const unauthorized = (): Reply => json(401, status({ code: 401, reason: "Unauthorized", message: "Unauthorized" }));

/** The lab rule, with the reason when it refuses. */
export function viaLoadBalancer(host: LabHost, peer: string, urlHost: string): string | undefined {
  if (!host.loadBalancers.includes(peer)) return `peer ${peer} is not one of the load balancers ${host.loadBalancers.join(", ")}: the request did not come through haproxy`;
  if (urlHost !== host.vip) return `the request asked for ${urlHost || "no host"}, not the VIP ${host.vip}`;
  return undefined;
}

export function supervisorHandler(ctx: SupervisorContext): (request: Request) => Promise<Reply> {
  const { bootstrap } = ctx;
  const isServer = (request: Request) => {
    const auth = basicAuth(request);
    return auth !== undefined && auth.user === "server" && auth.password === bootstrap.serverPassword;
  };
  const isNode = (request: Request) => {
    const auth = basicAuth(request);
    if (auth === undefined) return false;
    if (auth.user === "server") return auth.password === bootstrap.serverPassword;
    return auth.user === "node" && (auth.password === bootstrap.agentPassword || auth.password === bootstrap.serverPassword);
  };

  return async (request) => {
    const path = request.url.pathname;
    if (request.method === "GET" && path === "/ping") return text(200, "pong");
    const refusal = viaLoadBalancer(ctx.host, request.peer, request.urlHost);
    const reply = refusal !== undefined
      ? json(403, status({ code: 403, reason: "Forbidden", message: `starbase lab: ${refusal}` }))
      : await answer(request, path);
    record({
      event: "supervisor-request",
      method: request.method,
      path,
      peer: request.peer,
      urlHost: request.urlHost,
      nodeName: request.headers[NODE_NAME_HEADER],
      allowed: refusal === undefined,
      status: reply.status,
      ...(refusal !== undefined ? { reason: refusal } : {}),
    });
    return reply;
  };

  async function answer(request: Request, path: string): Promise<Reply> {
    if (request.method !== "GET") return json(405, status({ code: 405, reason: "MethodNotAllowed", message: `${request.method} ${path}` }));
    switch (path) {
      case "/cacerts":
        return text(200, bootstrap.serverCA.cert);
      case "/v1-rke2/server-bootstrap":
        if (!isServer(request)) return unauthorized();
        return json(200, { serverCA: bootstrap.serverCA, clientCA: bootstrap.clientCA, agentPassword: bootstrap.agentPassword });
      case "/db/info":
        if (!isServer(request)) return unauthorized();
        return json(200, { members: await ctx.etcd.members() });
      case "/v1-rke2/client-kubelet.crt": {
        if (!isNode(request)) return unauthorized();
        const nodeName = request.headers[NODE_NAME_HEADER];
        if (typeof nodeName !== "string" || nodeName === "") return json(400, status({ code: 400, reason: "BadRequest", message: "RKE2-Node-Name header not set" }));
        const pair = issueCert(bootstrap.clientCA, { commonName: `system:node:${nodeName}`, organization: "system:nodes", usage: "client" });
        return text(200, pair.cert + pair.key);
      }
      case "/v1-rke2/readyz":
        if (!isNode(request)) return unauthorized();
        return text(200, "ok");
    }
    return json(404, status({ code: 404, reason: "NotFound", message: `${path} not found` }));
  }
}
