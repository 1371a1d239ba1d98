// The part of a kubelet the steps see: it registers the node's Node object through the API with
// a node client certificate, NotReady at first, and reports Ready readyAfterMs after the unit
// started (host.json). Like a kubelet it re-registers on restart but does not re-create a Node
// that was deleted while it ran.

import type { KeyPair } from "./pki.ts";
import { newNode, readyCondition, type NodeRegistration } from "./kube.ts";
import { log, record } from "./records.ts";

export interface KubeletOptions {
  api: string;
  ca: string;
  client: KeyPair;
  registration: NodeRegistration;
  /** Epoch milliseconds at which the node turns Ready. */
  readyAt: number;
}

async function call(options: KubeletOptions, method: string, path: string, body?: unknown, contentType = "application/json"): Promise<Response> {
  return fetch(`${options.api}${path}`, {
    method,
    body: body === undefined ? undefined : JSON.stringify(body),
    headers: { "content-type": contentType, accept: "application/json" },
    tls: { ca: options.ca, cert: options.client.cert, key: options.client.key },
    signal: AbortSignal.timeout(10_000),
  } as RequestInit);
}

async function untilDone(what: string, attempt: () => Promise<boolean>): Promise<void> {
  for (let tries = 0; ; tries++) {
    try {
      if (await attempt()) return;
    } catch (error) {
      if (tries % 10 === 0) log("warning", `${what}: ${(error as Error).message}; retrying`);
    }
    await Bun.sleep(1000);
  }
}

export async function runKubelet(options: KubeletOptions): Promise<void> {
  const name = options.registration.name;
  const node = newNode(options.registration, new Date());
  await untilDone(`registering node ${name}`, async () => {
    const created = await call(options, "POST", "/api/v1/nodes", node);
    if (created.status === 201) return true;
    if (created.status !== 409) throw new Error(`POST /api/v1/nodes: ${created.status} ${await created.text()}`);
    const patch = { metadata: { labels: node.metadata.labels, annotations: node.metadata.annotations }, spec: node.spec };
    const updated = await call(options, "PATCH", `/api/v1/nodes/${name}`, patch, "application/merge-patch+json");
    if (!updated.ok) throw new Error(`PATCH node: ${updated.status} ${await updated.text()}`);
    const notReady = await call(options, "PATCH", `/api/v1/nodes/${name}/status`, { status: node.status }, "application/merge-patch+json");
    return notReady.ok;
  });
  record({ event: "node-registered", node: name, ip: options.registration.ip });
  await Bun.sleep(Math.max(0, options.readyAt - Date.now()));
  await untilDone(`posting Ready for ${name}`, async () => {
    const response = await call(options, "PATCH", `/api/v1/nodes/${name}/status`, { status: { conditions: [readyCondition(true, new Date())] } }, "application/merge-patch+json");
    if (response.status === 404) {
      log("warning", `node ${name} was deleted; not re-creating it until the service restarts`);
      return true;
    }
    if (!response.ok) throw new Error(`PATCH node status: ${response.status}`);
    record({ event: "node-ready", node: name });
    return true;
  });
}
