// The Kubernetes API on 6443, as much of it as kubectl needs for what starbase does: discovery
// (legacy; kubectl 1.32 falls back when aggregated discovery is not offered), nodes (list, get,
// create, update, merge/strategic patch, delete, status), pods (always none, so drain has nothing
// to evict), HelmCharts (read-only; the manifests controller writes them), health endpoints, and a
// polling watch. Objects live in the real etcd under kube-apiserver's keys, stored as JSON.
// Clients must present a certificate signed by the client CA (anonymous requests get 401, as on
// RKE2); every verified client may do everything (RBAC is not modelled).
// Deleting a server's Node removes its etcd member first, as RKE2's etcd member controller does on
// node removal (k3s pkg/etcd/member_controller.go onRemove → RemovePeer); etcd refuses a removal
// that would lose quorum (--strict-reconfig-check) and the API returns that refusal.

import { randomUUID } from "node:crypto";
import type { EtcdClient } from "./etcd.ts";
import { json, type Reply, type Request } from "./http.ts";
import { matchesSelector, runningRelease, mergePatch, notFound, status, table, type KubeObject, type StatusError } from "./kube.ts";
import { record } from "./records.ts";

export const NODE_PREFIX = "/registry/minions/";
export const HELMCHART_PREFIX = "/registry/helm.cattle.io/helmcharts/";
export const MEMBER_NAME_ANNOTATION = "etcd.rke2.cattle.io/node-name";
export const MEMBER_ADDRESS_ANNOTATION = "etcd.rke2.cattle.io/node-address";

class ApiError extends Error {
  constructor(readonly error: StatusError) {
    super(error.message);
  }
}

const fail = (error: StatusError): never => {
  throw new ApiError(error);
};

export interface ApiContext {
  etcd: EtcdClient;
  advertise: string;
  /**
   * Removes a server's etcd member (RemovePeer); throws etcd's error. Returns the etcd client to
   * use afterwards: another member's when this server removed itself (its own etcd stops).
   */
  removeMember(name: string, address: string): Promise<EtcdClient>;
}

const NODE_RESOURCE = { name: "nodes", singularName: "node", namespaced: false, kind: "Node", verbs: ["create", "delete", "get", "list", "patch", "update", "watch"], shortNames: ["no"] };
const API_V1 = {
  kind: "APIResourceList",
  groupVersion: "v1",
  resources: [
    NODE_RESOURCE,
    { name: "nodes/status", singularName: "", namespaced: false, kind: "Node", verbs: ["get", "patch", "update"] },
    { name: "pods", singularName: "pod", namespaced: true, kind: "Pod", verbs: ["get", "list"], shortNames: ["po"] },
    { name: "pods/eviction", singularName: "", namespaced: true, group: "policy", version: "v1", kind: "Eviction", verbs: ["create"] },
  ],
};
const HELM_V1 = {
  kind: "APIResourceList",
  apiVersion: "v1",
  groupVersion: "helm.cattle.io/v1",
  resources: [{ name: "helmcharts", singularName: "helmchart", namespaced: true, kind: "HelmChart", verbs: ["get", "list", "watch"] }],
};
const HELM_GROUP = { name: "helm.cattle.io", versions: [{ groupVersion: "helm.cattle.io/v1", version: "v1" }], preferredVersion: { groupVersion: "helm.cattle.io/v1", version: "v1" } };

function withVersion(value: string, modRevision: string): KubeObject {
  const obj = JSON.parse(value) as KubeObject;
  obj.metadata.resourceVersion = modRevision;
  return obj;
}

function wantsTable(request: Request): boolean {
  return (request.headers.accept ?? "").includes("as=Table");
}

function parseBody(request: Request): KubeObject {
  try {
    const obj = JSON.parse(request.body) as KubeObject;
    if (obj === null || typeof obj !== "object" || typeof obj.metadata !== "object") throw new Error("no metadata");
    return obj;
  } catch (error) {
    return fail({ code: 400, reason: "BadRequest", message: `the body of the request was in an unknown format: ${(error as Error).message}` });
  }
}

function nodeFields(node: KubeObject): Record<string, string | undefined> {
  return { ...(node.metadata.labels ?? {}), "metadata.name": node.metadata.name };
}

export class Api {
  constructor(private readonly ctx: ApiContext) {}

  async handle(request: Request): Promise<Reply> {
    if (!request.authorized) return json(401, status({ code: 401, reason: "Unauthorized", message: "Unauthorized" }));
    try {
      return await this.route(request);
    } catch (error) {
      if (error instanceof ApiError) return json(error.error.code, status(error.error));
      throw error;
    }
  }

  private async route(request: Request): Promise<Reply> {
    const path = request.url.pathname.replace(/\/+$/, "") || "/";
    const method = request.method;
    const parts = path.split("/").filter((p) => p !== "");
    if (method === "GET") {
      switch (path) {
        case "/version": {
          const release = runningRelease();
          const [, major = "", minor = ""] = /^v(\d+)\.(\d+)\./.exec(release) ?? [];
          return json(200, { major, minor, gitVersion: release, gitCommit: "stand-in", gitTreeState: "clean", buildDate: "2026-01-01T00:00:00Z", goVersion: "go1.23", compiler: "gc", platform: "linux/amd64" });
        }
        case "/api":
          return json(200, { kind: "APIVersions", versions: ["v1"], serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: this.ctx.advertise }] });
        case "/api/v1":
          return json(200, API_V1);
        case "/apis":
          return json(200, { kind: "APIGroupList", apiVersion: "v1", groups: [HELM_GROUP] });
        case "/apis/helm.cattle.io":
          return json(200, { kind: "APIGroup", apiVersion: "v1", ...HELM_GROUP });
        case "/apis/helm.cattle.io/v1":
          return json(200, HELM_V1);
        case "/healthz":
        case "/livez":
        case "/readyz":
          return this.health(request);
      }
    }
    // /api/v1/nodes[/name[/status]]
    if (parts[0] === "api" && parts[1] === "v1" && parts[2] === "nodes") return this.nodes(request, parts[3], parts[4]);
    // /api/v1[/namespaces/ns]/pods
    if (parts[0] === "api" && parts[1] === "v1" && (parts[2] === "pods" || (parts[2] === "namespaces" && parts[4] === "pods" && parts.length === 5))) {
      if (method !== "GET") return fail({ code: 405, reason: "MethodNotAllowed", message: `the stand-in has no pods to ${method}` });
      return json(200, wantsTable(request) ? table("Pod", [], "1", new Date()) : { kind: "PodList", apiVersion: "v1", metadata: { resourceVersion: "1" }, items: [] });
    }
    // /apis/helm.cattle.io/v1[/namespaces/ns]/helmcharts[/name]
    if (parts[0] === "apis" && parts[1] === "helm.cattle.io" && parts[2] === "v1") {
      if (parts[3] === "helmcharts" && parts.length === 4) return this.helmcharts(request, undefined, undefined);
      if (parts[3] === "namespaces" && parts[5] === "helmcharts" && parts.length <= 7) return this.helmcharts(request, parts[4], parts[6]);
    }
    return json(404, status({ code: 404, reason: "NotFound", message: "the server could not find the requested resource" }));
  }

  private async health(request: Request): Promise<Reply> {
    await this.ctx.etcd.status().catch(() => fail({ code: 500, reason: "InternalError", message: "[-]etcd failed: reason withheld" }));
    const verbose = request.url.searchParams.has("verbose");
    return { status: 200, contentType: "text/plain; charset=utf-8", body: verbose ? "[+]ping ok\n[+]etcd ok\nreadyz check passed\n" : "ok" };
  }

  private async readNode(name: string): Promise<KubeObject> {
    const kv = await this.ctx.etcd.get(NODE_PREFIX + name);
    return kv === undefined ? fail(notFound("nodes", name)) : withVersion(kv.value, kv.modRevision);
  }

  private async listNodes(request: Request): Promise<{ items: KubeObject[]; revision: string }> {
    const kvs = await this.ctx.etcd.list(NODE_PREFIX);
    const items = kvs.map((kv) => withVersion(kv.value, kv.modRevision));
    const labels = request.url.searchParams.get("labelSelector");
    const fields = request.url.searchParams.get("fieldSelector");
    const revision = kvs.reduce((max, kv) => (BigInt(kv.modRevision) > BigInt(max) ? kv.modRevision : max), "1");
    return { items: items.filter((n) => matchesSelector(labels, n.metadata.labels ?? {}) && matchesSelector(fields, nodeFields(n))), revision };
  }

  /** Writes a node if nobody changed it since `expected`; 409 Conflict otherwise. */
  private async writeNode(node: KubeObject, expected: string): Promise<KubeObject> {
    const { resourceVersion: _drop, ...metadata } = node.metadata;
    const revision = await this.ctx.etcd.putIf(NODE_PREFIX + node.metadata.name, JSON.stringify({ ...node, metadata }), expected);
    if (revision === undefined) {
      return fail({ code: 409, reason: "Conflict", message: `Operation cannot be fulfilled on nodes "${node.metadata.name}": the object has been modified; please apply your changes to the latest version and try again` });
    }
    return { ...node, metadata: { ...node.metadata, resourceVersion: revision } };
  }

  private async nodes(request: Request, name: string | undefined, sub: string | undefined): Promise<Reply> {
    const method = request.method;
    if (sub !== undefined && sub !== "status") return json(404, status({ code: 404, reason: "NotFound", message: "the server could not find the requested resource" }));
    if (name === undefined) {
      if (method === "GET") {
        if (["true", "1"].includes(request.url.searchParams.get("watch") ?? "")) return this.watch(request);
        const { items, revision } = await this.listNodes(request);
        return json(200, wantsTable(request) ? table("Node", items, revision, new Date()) : { kind: "NodeList", apiVersion: "v1", metadata: { resourceVersion: revision }, items });
      }
      if (method === "POST") {
        const node = parseBody(request);
        const created = { ...node, apiVersion: "v1", kind: "Node", metadata: { ...node.metadata, uid: randomUUID(), creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, "Z") } };
        const revision = await this.ctx.etcd.putIf(NODE_PREFIX + node.metadata.name, JSON.stringify(created), "0");
        if (revision === undefined) return fail({ code: 409, reason: "AlreadyExists", message: `nodes "${node.metadata.name}" already exists` });
        return json(201, { ...created, metadata: { ...created.metadata, resourceVersion: revision } });
      }
      return fail({ code: 405, reason: "MethodNotAllowed", message: `${method} is not supported on nodes` });
    }
    switch (method) {
      case "GET": {
        const node = await this.readNode(name);
        return json(200, wantsTable(request) ? table("Node", [node], node.metadata.resourceVersion ?? "1", new Date()) : node);
      }
      case "PUT": {
        const current = await this.readNode(name);
        const body = parseBody(request);
        if (body.metadata.name !== name) return fail({ code: 400, reason: "BadRequest", message: `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})` });
        const expected = body.metadata.resourceVersion ?? current.metadata.resourceVersion!;
        // The status subresource changes status only; the main resource everything but status.
        const next = sub === "status" ? { ...current, status: body.status } : { ...body, status: current.status };
        next.metadata = { ...next.metadata, uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp };
        return json(200, await this.writeNode(next, expected));
      }
      case "PATCH":
        return json(200, await this.patchNode(request, name, sub === "status"));
      case "DELETE":
        if (sub !== undefined) break;
        return this.deleteNode(name);
    }
    return fail({ code: 405, reason: "MethodNotAllowed", message: `${method} is not supported on nodes/${name}` });
  }

  private async patchNode(request: Request, name: string, statusOnly: boolean): Promise<KubeObject> {
    const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim();
    if (type !== "application/merge-patch+json" && type !== "application/strategic-merge-patch+json") {
      return fail({ code: 415, reason: "UnsupportedMediaType", message: `the stand-in does not support patch type ${type}` });
    }
    let patch: unknown;
    try {
      patch = JSON.parse(request.body);
    } catch (error) {
      return fail({ code: 400, reason: "BadRequest", message: `invalid patch: ${(error as Error).message}` });
    }
    for (let attempt = 0; ; attempt++) {
      const current = await this.readNode(name);
      const patched = mergePatch(current, patch) as KubeObject;
      const next = statusOnly ? { ...current, status: patched.status } : { ...patched, status: current.status, metadata: { ...patched.metadata, name, uid: current.metadata.uid, creationTimestamp: current.metadata.creationTimestamp } };
      try {
        return await this.writeNode(next, current.metadata.resourceVersion!);
      } catch (error) {
        if (!(error instanceof ApiError) || error.error.code !== 409 || attempt >= 4) throw error;
      }
    }
  }

  private async deleteNode(name: string): Promise<Reply> {
    const node = await this.readNode(name);
    const annotations = node.metadata.annotations ?? {};
    const member = annotations[MEMBER_NAME_ANNOTATION];
    const address = annotations[MEMBER_ADDRESS_ANNOTATION];
    let store = this.ctx.etcd;
    if (node.metadata.labels?.["node-role.kubernetes.io/etcd"] === "true" && member !== undefined && address !== undefined) {
      try {
        store = await this.ctx.removeMember(member, address);
        record({ event: "etcd-member-remove", node: name, member, ok: true });
      } catch (error) {
        const message = (error as Error).message;
        record({ event: "etcd-member-remove", node: name, member, ok: false, error: message });
        return fail({ code: 500, reason: "InternalError", message: `Internal error occurred: removing etcd member ${member} of node ${name}: ${message}` });
      }
    }
    await store.delete(NODE_PREFIX + name);
    return json(200, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details: { name, kind: "nodes", uid: node.metadata.uid } });
  }

  private async helmcharts(request: Request, namespace: string | undefined, name: string | undefined): Promise<Reply> {
    if (request.method !== "GET") return fail({ code: 405, reason: "MethodNotAllowed", message: "HelmCharts come from the server's manifests directory; the stand-in serves them read-only" });
    if (name !== undefined) {
      const kv = await this.ctx.etcd.get(`${HELMCHART_PREFIX}${namespace}/${name}`);
      if (kv === undefined) return fail(notFound("helmcharts.helm.cattle.io", name));
      const chart = withVersion(kv.value, kv.modRevision);
      return json(200, wantsTable(request) ? table("HelmChart", [chart], kv.modRevision, new Date()) : chart);
    }
    const kvs = await this.ctx.etcd.list(namespace === undefined ? HELMCHART_PREFIX : `${HELMCHART_PREFIX}${namespace}/`);
    const items = kvs.map((kv) => withVersion(kv.value, kv.modRevision));
    const revision = kvs.reduce((max, kv) => (BigInt(kv.modRevision) > BigInt(max) ? kv.modRevision : max), "1");
    return json(200, wantsTable(request) ? table("HelmChart", items, revision, new Date()) : { kind: "HelmChartList", apiVersion: "helm.cattle.io/v1", metadata: { resourceVersion: revision }, items });
  }

  /**
   * A watch on nodes by polling etcd twice a second: events for every node whose revision is newer
   * than the one the client listed at, DELETED for nodes that disappeared. Enough for kubectl wait
   * and get -w; it ends at timeoutSeconds or when the client goes away.
   */
  private async watch(request: Request): Promise<Reply> {
    const response = request.response;
    response.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
    let since = BigInt(request.url.searchParams.get("resourceVersion") || "0");
    const timeout = Number(request.url.searchParams.get("timeoutSeconds") ?? "1800") * 1000;
    const started = Date.now();
    let known = new Map<string, KubeObject>();
    let first = true;
    let closed = false;
    request.raw.on("close", () => (closed = true));
    while (!closed && Date.now() - started < timeout) {
      const { items } = await this.listNodes(request).catch(() => ({ items: undefined as KubeObject[] | undefined }));
      if (items !== undefined) {
        const next = new Map(items.map((n) => [n.metadata.name, n]));
        for (const node of items) {
          const rv = BigInt(node.metadata.resourceVersion ?? "0");
          // On the first poll after a list, a newer node may be new or changed: MODIFIED suits both
          // (an informer adds what it does not know).
          const type = known.has(node.metadata.name) || (first && since > 0n) ? "MODIFIED" : "ADDED";
          if (rv > since) response.write(`${JSON.stringify({ type, object: node })}\n`);
        }
        if (!first) {
          for (const [gone, node] of known) if (!next.has(gone)) response.write(`${JSON.stringify({ type: "DELETED", object: node })}\n`);
        }
        for (const node of items) {
          const rv = BigInt(node.metadata.resourceVersion ?? "0");
          if (rv > since) since = rv;
        }
        known = next;
        first = false;
      }
      await Bun.sleep(500);
    }
    response.end();
    return { status: 200, body: "", streamed: true };
  }
}
