// The server's deploy controller for /var/lib/rancher/rke2/server/manifests (k3s pkg/deploy):
// every .yaml/.yml/.json file there (not hidden, no "<file>.skip" beside it) is applied, objects
// without a namespace land in kube-system. The stand-in models HelmChart (helm.cattle.io/v1) only
// and checks what the HelmChart CRD's schema and helm-controller need; anything else in a file is
// reported (record + journal), never silently dropped — the file's other documents still apply.

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { KubeObject } from "./kube.ts";

export interface ManifestResult {
  file: string;
  charts: KubeObject[];
  problems: string[];
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const STRING_FIELDS = ["chart", "chartContent", "repo", "repoCA", "version", "targetNamespace", "valuesContent", "helmVersion", "jobImage", "timeout", "authSecret", "failurePolicy"];
const BOOL_FIELDS = ["bootstrap", "createNamespace", "insecureSkipTLSVerify", "plainHTTP"];

function documents(text: string): string[] {
  return text.split(/^---[ \t]*$/m).filter((doc) => doc.replace(/#.*$/gm, "").trim() !== "");
}

/** The problems of one document, or the HelmChart it declares. */
export function checkHelmChart(doc: unknown, where: string): { chart?: KubeObject; problem?: string } {
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return { problem: `${where}: not a Kubernetes object` };
  const obj = doc as Record<string, unknown>;
  if (obj.apiVersion !== "helm.cattle.io/v1" || obj.kind !== "HelmChart") {
    return { problem: `${where}: ${String(obj.apiVersion)}/${String(obj.kind)} is not a helm.cattle.io/v1 HelmChart (the stand-in applies HelmCharts only)` };
  }
  const metadata = obj.metadata as Record<string, unknown> | undefined;
  const name = metadata?.name;
  if (typeof name !== "string" || name.length > 253 || !NAME.test(name)) {
    return { problem: `${where}: metadata.name ${JSON.stringify(name)} is not a valid DNS-1123 subdomain` };
  }
  const namespace = metadata?.namespace ?? "kube-system";
  if (typeof namespace !== "string" || !NAME.test(namespace)) return { problem: `${where}: metadata.namespace ${JSON.stringify(namespace)} is invalid` };
  const spec = obj.spec as Record<string, unknown> | undefined;
  if (spec === undefined || spec === null || typeof spec !== "object" || Array.isArray(spec)) return { problem: `${where}: HelmChart ${name} has no spec` };
  for (const field of STRING_FIELDS) {
    if (spec[field] !== undefined && typeof spec[field] !== "string") return { problem: `${where}: spec.${field} in body must be of type string` };
  }
  for (const field of BOOL_FIELDS) {
    if (spec[field] !== undefined && typeof spec[field] !== "boolean") return { problem: `${where}: spec.${field} in body must be of type boolean` };
  }
  if (spec.set !== undefined && (typeof spec.set !== "object" || spec.set === null || Array.isArray(spec.set))) return { problem: `${where}: spec.set in body must be of type object` };
  if (!spec.chart && !spec.chartContent) return { problem: `${where}: HelmChart ${name} has neither spec.chart nor spec.chartContent` };
  return { chart: { ...(obj as KubeObject), metadata: { ...(metadata as KubeObject["metadata"]), name, namespace } } };
}

export function readManifest(path: string, file: string): ManifestResult {
  const result: ManifestResult = { file, charts: [], problems: [] };
  const docs = documents(readFileSync(path, "utf8"));
  if (docs.length === 0) result.problems.push(`${file}: no objects in file`);
  docs.forEach((text, index) => {
    const where = docs.length > 1 ? `${file} (document ${index + 1})` : file;
    let doc: unknown;
    try {
      doc = file.endsWith(".json") ? JSON.parse(text) : Bun.YAML.parse(text);
    } catch (error) {
      result.problems.push(`${where}: ${(error as Error).message}`);
      return;
    }
    const { chart, problem } = checkHelmChart(doc, where);
    if (chart) result.charts.push(chart);
    if (problem) result.problems.push(problem);
  });
  return result;
}

export function readManifestDir(dir: string, label: string): ManifestResult[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => /\.(ya?ml|json)$/.test(name) && !name.startsWith(".") && !existsSync(join(dir, `${name}.skip`)))
    .sort()
    .map((name) => readManifest(join(dir, name), `${label}/${name}`));
}
