// The kubeconfig starbase hands over: RKE2's rke2.yaml (server https://127.0.0.1:6443, every
// entry named "default") with the server moved to the VIP and the entries named after the
// cluster, so that several starbase clusters can live in one ~/.kube/config. Pure.
import { parse } from "yaml";
import { toYaml } from "./yaml.ts";

const API_PORT = 6443;

interface Named<T> {
  name: string;
  [key: string]: unknown;
  cluster?: T;
  user?: T;
  context?: T;
}

interface KubeconfigDocument {
  apiVersion?: string;
  kind?: string;
  clusters?: Named<Record<string, unknown>>[];
  users?: Named<Record<string, unknown>>[];
  contexts?: Named<Record<string, unknown>>[];
  "current-context"?: string;
  preferences?: unknown;
  [key: string]: unknown;
}

export class KubeconfigError extends Error {
  override readonly name = "KubeconfigError";
}

function document(text: string, what: string): KubeconfigDocument {
  let value: unknown;
  try {
    value = parse(text);
  } catch (err) {
    throw new KubeconfigError(`${what} is not YAML: ${(err as Error).message.split("\n")[0]}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new KubeconfigError(`${what} is not a kubeconfig (not a mapping)`);
  const doc = value as KubeconfigDocument;
  for (const list of ["clusters", "users", "contexts"] as const) {
    if (doc[list] !== undefined && !Array.isArray(doc[list])) throw new KubeconfigError(`${what}: ${list} is not a list`);
  }
  return doc;
}

function only<T>(list: T[] | undefined, what: string, key: string): T {
  if (list?.length !== 1) throw new KubeconfigError(`${what} should hold exactly one ${key}, it holds ${list?.length ?? 0}`);
  return list[0] as T;
}

/** The API address through the VIP; an IPv6 VIP is bracketed. */
export function vipServer(vip: string): string {
  return `https://${vip.includes(":") ? `[${vip}]` : vip}:${API_PORT}`;
}

/** rke2.yaml → this cluster's kubeconfig: server = the VIP, cluster/user/context = the cluster's name. */
export function clusterKubeconfig(rke2Yaml: string, cluster: string, vip: string): string {
  const what = "the first server's /etc/rancher/rke2/rke2.yaml";
  const source = document(rke2Yaml, what);
  const clusterEntry = only(source.clusters, what, "cluster");
  const userEntry = only(source.users, what, "user");
  if (typeof clusterEntry.cluster?.["certificate-authority-data"] !== "string") {
    throw new KubeconfigError(`${what} has no certificate-authority-data: the VIP's certificate could not be checked`);
  }
  const out: KubeconfigDocument = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: cluster, cluster: { ...clusterEntry.cluster, server: vipServer(vip) } }],
    users: [{ name: cluster, user: userEntry.user ?? {} }],
    contexts: [{ name: cluster, context: { cluster, user: cluster } }],
    "current-context": cluster,
    preferences: {},
  };
  return toYaml(out);
}

export interface MergeResult {
  text: string;
  /** The current context, unchanged when the file had one. */
  currentContext: string;
  replaced: boolean;
}

/**
 * Puts this cluster's entries into an existing kubeconfig: entries named after the cluster are
 * replaced, every other entry and setting is kept, and a current context the user chose stays.
 */
export function mergeKubeconfig(existing: string, ours: string, cluster: string, existingWhat: string): MergeResult {
  const target = document(existing, existingWhat);
  const mine = document(ours, "the cluster's kubeconfig");
  let replaced = false;
  const merged: KubeconfigDocument = { ...target, apiVersion: target.apiVersion ?? "v1", kind: target.kind ?? "Config" };
  for (const list of ["clusters", "users", "contexts"] as const) {
    const kept = (target[list] ?? []).filter((entry) => {
      const ours = entry?.name === cluster;
      replaced ||= ours;
      return !ours;
    });
    merged[list] = [...kept, ...(mine[list] ?? [])];
  }
  const current = typeof target["current-context"] === "string" && target["current-context"] !== "" ? target["current-context"] : cluster;
  merged["current-context"] = current;
  return { text: toYaml(merged), currentContext: current, replaced };
}

/** What a client needs to talk to the API as a kubeconfig's current context says. */
export interface KubeconfigAccess {
  /** As written: https://host:port */
  server: string;
  host: string;
  port: number;
  caPem: string;
  certPem: string;
  keyPem: string;
}

function pemField(entry: Record<string, unknown> | undefined, field: string, what: string): string {
  const value = entry?.[field];
  if (typeof value !== "string" || value === "") throw new KubeconfigError(`${what} has no ${field}`);
  return Buffer.from(value, "base64").toString("utf8");
}

/** The server, CA and client certificate of the current context (embedded *-data fields only, as RKE2 writes them). */
export function kubeconfigAccess(text: string, what: string): KubeconfigAccess {
  const doc = document(text, what);
  const contextName = doc["current-context"];
  const context = doc.contexts?.find((c) => c?.name === contextName)?.context;
  if (context === undefined) throw new KubeconfigError(`${what}: the current context ${JSON.stringify(contextName)} is not among its contexts`);
  const cluster = doc.clusters?.find((c) => c?.name === context.cluster)?.cluster;
  const user = doc.users?.find((u) => u?.name === context.user)?.user;
  if (cluster === undefined || user === undefined) throw new KubeconfigError(`${what}: context ${String(contextName)} names a cluster or user it does not hold`);
  const server = cluster.server;
  if (typeof server !== "string") throw new KubeconfigError(`${what}: cluster ${String(context.cluster)} has no server`);
  let url: URL;
  try {
    url = new URL(server);
  } catch {
    throw new KubeconfigError(`${what}: server ${server} is not a URL`);
  }
  if (url.protocol !== "https:") throw new KubeconfigError(`${what}: server ${server} is not https`);
  return {
    server,
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? 443 : Number(url.port),
    caPem: pemField(cluster, "certificate-authority-data", what),
    certPem: pemField(user, "client-certificate-data", what),
    keyPem: pemField(user, "client-key-data", what),
  };
}
