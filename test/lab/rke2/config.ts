// /etc/rancher/rke2/config.yaml plus config.yaml.d/*.yaml, merged as RKE2 documents
// (docs/install/configuration.md; k3s pkg/configfilearg): files in alphabetical order after
// config.yaml, the last value of a key wins, "key+" appends to a list. Each key is a CLI flag, so a
// list value is a repeated flag and a comma-separated string is a list too (urfave StringSlice).
// Malformed YAML or a top level that is not a mapping stops RKE2 before anything starts; unknown
// keys only warn ("Unknown flag … found in config, skipping").

import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_DROPIN_DIR, CONFIG_FILE, rooted } from "./paths.ts";

export type Role = "server" | "agent";

export interface Rke2Config {
  server?: string;
  token?: string;
  agentToken?: string;
  nodeName?: string;
  nodeIp?: string;
  tlsSan: string[];
  nodeLabel: string[];
  nodeTaint: string[];
  etcdArg: string[];
  writeKubeconfigMode?: number;
  /** Keys the stand-in read but does not act on (cni, selinux, …): accepted as RKE2 accepts them. */
  accepted: Record<string, string | string[]>;
  warnings: string[];
}

export class ConfigError extends Error {}

type Value = string | string[];

const LIST_KEYS = new Set(["tls-san", "node-label", "node-taint", "etcd-arg", "kube-apiserver-arg", "kubelet-arg", "disable"]);
const SERVER_ONLY = new Set(["tls-san", "agent-token", "agent-token-file", "write-kubeconfig-mode", "write-kubeconfig-group", "etcd-arg", "cni", "disable", "cluster-cidr", "service-cidr", "kube-apiserver-arg", "ingress-controller"]);
const KNOWN = new Set([
  ...LIST_KEYS, ...SERVER_ONLY, "server", "token", "token-file", "node-name", "node-ip", "node-external-ip", "selinux",
  "data-dir", "debug", "profile", "protect-kernel-defaults",
]);

function scalar(value: unknown, file: string, key: string): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  if (value === null) return "";
  throw new ConfigError(`${file}: value of ${key} must be a string or a list of strings`);
}

function toValue(value: unknown, file: string, key: string): Value {
  if (Array.isArray(value)) return value.map((item) => scalar(item, file, key));
  return scalar(value, file, key);
}

/** One file's keys in order; throws ConfigError naming the file on malformed YAML. */
export function parseConfigText(text: string, file: string): Array<[string, Value]> {
  let parsed: unknown;
  try {
    parsed = Bun.YAML.parse(text);
  } catch (error) {
    throw new ConfigError(`failed to parse ${file}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return [];
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new ConfigError(`failed to parse ${file}: the top level is not a mapping of keys to values`);
  }
  return Object.entries(parsed as Record<string, unknown>).map(([key, value]) => [key, toValue(value, file, key)]);
}

function listOf(value: Value | undefined): string[] {
  if (value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  return items.flatMap((item) => item.split(",")).map((item) => item.trim()).filter((item) => item !== "");
}

/** Merges files in order: last value wins, "key+" appends. */
export function mergeConfig(files: Array<Array<[string, Value]>>): Map<string, Value> {
  const merged = new Map<string, Value>();
  for (const entries of files) {
    for (const [rawKey, value] of entries) {
      if (rawKey.endsWith("+")) {
        const key = rawKey.slice(0, -1);
        merged.set(key, [...listOf(merged.get(key)), ...listOf(value)]);
      } else {
        merged.set(rawKey, value);
      }
    }
  }
  return merged;
}

function single(merged: Map<string, Value>, key: string): string | undefined {
  const value = merged.get(key);
  if (value === undefined) return undefined;
  // A repeated single-valued flag: the last one wins, as with the CLI.
  return Array.isArray(value) ? value.at(-1) : value;
}

function readTokenFile(path: string, key: string): string {
  const file = rooted(path);
  if (!existsSync(file)) throw new ConfigError(`${key}: open ${path}: no such file or directory`);
  return readFileSync(file, "utf8").trim();
}

/** The config as RKE2 sees it, or ConfigError with the reason RKE2 would refuse to start. */
export function interpretConfig(merged: Map<string, Value>, role: Role): Rke2Config {
  const warnings: string[] = [];
  const accepted: Record<string, Value> = {};
  for (const [key, value] of merged) {
    if (!KNOWN.has(key)) warnings.push(`Unknown flag --${key} found in config.yaml, skipping`);
    else if (role === "agent" && SERVER_ONLY.has(key)) warnings.push(`Unknown flag --${key} found in config.yaml, skipping`);
    else accepted[key] = value;
  }
  const dataDir = single(merged, "data-dir");
  if (dataDir !== undefined && dataDir !== "/var/lib/rancher/rke2") {
    throw new ConfigError(`data-dir ${dataDir}: the stand-in only models the default /var/lib/rancher/rke2`);
  }
  const tokenValue = single(merged, "token");
  const tokenFile = single(merged, "token-file");
  const token = tokenValue !== undefined && tokenValue !== "" ? tokenValue : tokenFile ? readTokenFile(tokenFile, "token-file") : undefined;
  const agentTokenFile = single(merged, "agent-token-file");
  const agentToken = single(merged, "agent-token") ?? (agentTokenFile ? readTokenFile(agentTokenFile, "agent-token-file") : undefined);
  const server = single(merged, "server");
  if (server !== undefined && server !== "") {
    let url: URL;
    try {
      url = new URL(server);
    } catch {
      throw new ConfigError(`Invalid server url, failed to parse: ${server}`);
    }
    if (url.protocol !== "https:") throw new ConfigError(`only https:// URLs are supported, invalid scheme: ${server}`);
  }
  const joining = server !== undefined && server !== "";
  if (role === "agent" && !joining) throw new ConfigError("--server is required");
  if (joining && (token === undefined || token === "")) throw new ConfigError("--token is required");
  const mode = single(merged, "write-kubeconfig-mode");
  let writeKubeconfigMode: number | undefined;
  if (mode !== undefined && role === "server") {
    if (!/^[0-7]{3,4}$/.test(mode)) throw new ConfigError(`write-kubeconfig-mode ${mode}: invalid file mode`);
    writeKubeconfigMode = Number.parseInt(mode, 8);
  }
  const nodeIp = single(merged, "node-ip");
  if (nodeIp !== undefined && !/^\d{1,3}(\.\d{1,3}){3}$/.test(nodeIp)) throw new ConfigError(`invalid node-ip ${nodeIp}`);
  return {
    server: joining ? server : undefined,
    token,
    agentToken,
    nodeName: single(merged, "node-name"),
    nodeIp,
    tlsSan: role === "server" ? listOf(merged.get("tls-san")) : [],
    nodeLabel: listOf(merged.get("node-label")),
    nodeTaint: listOf(merged.get("node-taint")),
    etcdArg: role === "server" ? listOf(merged.get("etcd-arg")) : [],
    writeKubeconfigMode,
    accepted,
    warnings,
  };
}

/** Reads config.yaml and the drop-ins from the host's filesystem. */
export function loadConfig(role: Role): Rke2Config {
  const files: Array<Array<[string, Value]>> = [];
  if (existsSync(rooted(CONFIG_FILE))) files.push(parseConfigText(readFileSync(rooted(CONFIG_FILE), "utf8"), CONFIG_FILE));
  const dropins = rooted(CONFIG_DROPIN_DIR);
  if (existsSync(dropins)) {
    for (const name of readdirSync(dropins).filter((n) => n.endsWith(".yaml")).sort()) {
      const path = join(CONFIG_DROPIN_DIR, name);
      files.push(parseConfigText(readFileSync(rooted(path), "utf8"), path));
    }
  }
  return interpretConfig(mergeConfig(files), role);
}
