// Kubernetes object shapes the stand-in API serves: Status errors, Node objects as the kubelet of
// an RKE2 node registers them, server-side Tables (what kubectl asks for), JSON merge patches.

import { readState } from "../standins/packages.ts";
import { rooted } from "./paths.ts";

/** The release of a stand-in that no package installed (run as a plain process by its own tests). */
export const KUBERNETES_VERSION = "v1.32.4+rke2r1";

/**
 * The release this stand-in runs as, as its kubelet and /version report it: the installed
 * rke2-common's RPM version (the lab's package stand-in) turned back into a release
 * (1.33.5~rke2r1-0 → v1.33.5+rke2r1), as the real binary reports the release it was built as.
 */
export function runningRelease(): string {
  const rpm = readState(rooted("/")).installed["rke2-common"];
  const match = rpm === undefined ? null : /^(\d+\.\d+\.\d+)~(rke2r\d+)-/.exec(rpm);
  return match === null ? KUBERNETES_VERSION : `v${match[1]}+${match[2]}`;
}

export type KubeObject = {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string; creationTimestamp?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
};

export interface StatusError {
  code: number;
  reason: string;
  message: string;
}

export function status(error: StatusError): Record<string, unknown> {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: error.message, reason: error.reason, code: error.code };
}

export const notFound = (resource: string, name: string): StatusError => ({ code: 404, reason: "NotFound", message: `${resource} "${name}" not found` });

/** RFC 7386; kubectl's strategic merge patches for the fields it touches (cordon) reduce to this. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const base: Record<string, unknown> = target !== null && typeof target === "object" && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (key === "$patch" || key.startsWith("$setElementOrder") || key.startsWith("$retainKeys")) continue;
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}

/** Equality, inequality and existence terms, comma-separated (enough for kubectl -l and --field-selector). */
export function matchesSelector(selector: string | null, fields: Record<string, string | undefined>): boolean {
  if (selector === null || selector.trim() === "") return true;
  return selector.split(",").every((term) => {
    const t = term.trim();
    const ne = /^([^!=]+)!=(.*)$/.exec(t);
    if (ne) return fields[ne[1]!.trim()] !== ne[2]!.trim();
    const eq = /^([^!=]+)==?(.*)$/.exec(t);
    if (eq) return fields[eq[1]!.trim()] === eq[2]!.trim();
    if (t.startsWith("!")) return fields[t.slice(1)] === undefined;
    return fields[t] !== undefined;
  });
}

export interface NodeRegistration {
  name: string;
  ip: string;
  server: boolean;
  labels: string[];
  taints: string[];
  annotations: Record<string, string>;
}

/** The Node an RKE2 kubelet registers: NotReady until its status update says otherwise. */
export function newNode(reg: NodeRegistration, now: Date): KubeObject {
  const release = runningRelease();
  const labels: Record<string, string> = {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": reg.name,
    "kubernetes.io/os": "linux",
    "node.kubernetes.io/instance-type": "rke2",
  };
  if (reg.server) {
    labels["node-role.kubernetes.io/control-plane"] = "true";
    labels["node-role.kubernetes.io/etcd"] = "true";
    labels["node-role.kubernetes.io/master"] = "true";
  }
  for (const label of reg.labels) {
    const [key, value = ""] = label.split("=", 2);
    labels[key!] = value;
  }
  const taints = reg.taints.map((taint) => {
    const match = /^([^=:]+)(?:=([^:]*))?:(NoSchedule|PreferNoSchedule|NoExecute)$/.exec(taint);
    if (!match) throw new Error(`invalid node-taint ${taint}`);
    return { key: match[1], ...(match[2] !== undefined ? { value: match[2] } : {}), effect: match[3] };
  });
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: reg.name, labels, annotations: { ...reg.annotations, "rke2.io/internal-ip": reg.ip, "rke2.io/hostname": reg.name } },
    spec: { providerID: `rke2://${reg.name}`, ...(taints.length > 0 ? { taints } : {}) },
    status: {
      addresses: [{ type: "InternalIP", address: reg.ip }, { type: "Hostname", address: reg.name }],
      conditions: [readyCondition(false, now)],
      nodeInfo: {
        architecture: "amd64", operatingSystem: "linux", osImage: "starbase lab stand-in", kernelVersion: "",
        containerRuntimeVersion: "containerd://stand-in", kubeletVersion: release, kubeProxyVersion: release,
      },
    },
  };
}

export function readyCondition(ready: boolean, now: Date): Record<string, string> {
  const time = now.toISOString().replace(/\.\d+Z$/, "Z");
  return ready
    ? { type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status", lastHeartbeatTime: time, lastTransitionTime: time }
    : { type: "Ready", status: "False", reason: "KubeletNotReady", message: "container runtime network not ready", lastHeartbeatTime: time, lastTransitionTime: time };
}

function age(created: string | undefined, now: Date): string {
  if (created === undefined) return "<unknown>";
  const seconds = Math.max(0, Math.floor((now.getTime() - Date.parse(created)) / 1000));
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  return `${Math.floor(seconds / 3600)}h`;
}

function nodeCells(node: KubeObject, now: Date): unknown[] {
  const status = node.status as { conditions?: Array<{ type: string; status: string }>; nodeInfo?: { kubeletVersion?: string }; addresses?: Array<{ type: string; address: string }> };
  const ready = status.conditions?.find((c) => c.type === "Ready");
  const states = [ready?.status === "True" ? "Ready" : ready?.status === "False" ? "NotReady" : "Unknown"];
  if ((node.spec as { unschedulable?: boolean }).unschedulable) states.push("SchedulingDisabled");
  const roles = Object.keys(node.metadata.labels ?? {}).filter((l) => l.startsWith("node-role.kubernetes.io/")).map((l) => l.slice(24)).sort();
  const internal = status.addresses?.find((a) => a.type === "InternalIP")?.address ?? "<none>";
  return [node.metadata.name, states.join(","), roles.length > 0 ? roles.join(",") : "<none>", age(node.metadata.creationTimestamp, now), status.nodeInfo?.kubeletVersion ?? "", internal];
}

/** meta.k8s.io/v1 Table, as kube-apiserver prints nodes (and Name/Age for everything else). */
export function table(kind: string, items: KubeObject[], resourceVersion: string, now: Date): Record<string, unknown> {
  const isNode = kind === "Node";
  const columnDefinitions = isNode
    ? [["Name", "string", 0], ["Status", "string", 0], ["Roles", "string", 0], ["Age", "string", 0], ["Version", "string", 0], ["Internal-IP", "string", 1]]
    : [["Name", "string", 0], ["Age", "string", 0]];
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion },
    columnDefinitions: columnDefinitions.map(([name, type, priority]) => ({ name, type, format: name === "Name" ? "name" : "", description: "", priority })),
    rows: items.map((item) => ({
      cells: isNode ? nodeCells(item, now) : [item.metadata.name, age(item.metadata.creationTimestamp, now)],
      object: { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: item.metadata },
    })),
  };
}
