// Debian's real etcd (3.4, which has learners) run by the server stand-in, and a small client for
// its v3 HTTP/JSON gateway. Flags follow k3s pkg/etcd/etcd.go (cluster()): member name
// "<node>-<8 hex>", client URLs on the node IP and 127.0.0.1, peer URL on the node IP,
// heartbeat 500 ms and election timeout 5000 ms; etcd-arg from config.yaml is appended as RKE2 does.
// Unlike RKE2 the stand-in's etcd speaks plain HTTP (the lab network is private).

import type { Subprocess } from "bun";

export interface Member {
  ID: string;
  name?: string;
  peerURLs?: string[];
  clientURLs?: string[];
  isLearner?: boolean;
}

export class EtcdError extends Error {
  constructor(message: string, readonly code?: number) {
    super(message);
  }
}

const b64 = (text: string) => Buffer.from(text).toString("base64");
const unb64 = (text: string) => Buffer.from(text, "base64").toString();

/** One etcd endpoint's v3 gateway (http://ip:2379). */
export class EtcdClient {
  constructor(readonly endpoint: string, readonly timeoutMs = 5000) {}

  async call<T>(path: string, body: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(`${this.endpoint}${path}`, {
        method: "POST",
        body: JSON.stringify(body),
        headers: { "content-type": "application/json" },
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new EtcdError(`etcd ${this.endpoint}${path}: ${(error as Error).message}`);
    }
    const text = await response.text();
    let parsed: { error?: string; message?: string; code?: number } & Record<string, unknown>;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new EtcdError(`etcd ${this.endpoint}${path}: HTTP ${response.status}: ${text.trim()}`);
    }
    if (!response.ok || parsed.error !== undefined) {
      throw new EtcdError(parsed.message ?? parsed.error ?? `HTTP ${response.status}`, parsed.code);
    }
    return parsed as T;
  }

  async get(key: string): Promise<{ value: string; modRevision: string } | undefined> {
    const out = await this.call<{ kvs?: Array<{ value?: string; mod_revision: string }> }>("/v3/kv/range", { key: b64(key) });
    const kv = out.kvs?.[0];
    return kv === undefined ? undefined : { value: unb64(kv.value ?? ""), modRevision: kv.mod_revision };
  }

  async list(prefix: string): Promise<Array<{ key: string; value: string; modRevision: string }>> {
    const end = prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
    const out = await this.call<{ kvs?: Array<{ key: string; value?: string; mod_revision: string }> }>("/v3/kv/range", { key: b64(prefix), range_end: b64(end) });
    return (out.kvs ?? []).map((kv) => ({ key: unb64(kv.key), value: unb64(kv.value ?? ""), modRevision: kv.mod_revision }));
  }

  /**
   * Writes key only if its mod revision is still `expected` ("0" = must not exist); returns the new
   * revision, or undefined when someone else changed it first (the API's 409 Conflict).
   */
  async putIf(key: string, value: string, expected: string): Promise<string | undefined> {
    const out = await this.call<{ succeeded?: boolean; header: { revision: string } }>("/v3/kv/txn", {
      compare: [{ key: b64(key), target: "MOD", result: "EQUAL", mod_revision: expected }],
      success: [{ request_put: { key: b64(key), value: b64(value) } }],
    });
    return out.succeeded ? out.header.revision : undefined;
  }

  async put(key: string, value: string): Promise<string> {
    const out = await this.call<{ header: { revision: string } }>("/v3/kv/put", { key: b64(key), value: b64(value) });
    return out.header.revision;
  }

  async delete(key: string): Promise<boolean> {
    const out = await this.call<{ deleted?: string }>("/v3/kv/deleterange", { key: b64(key) });
    return Number(out.deleted ?? "0") > 0;
  }

  async members(): Promise<Member[]> {
    return (await this.call<{ members?: Member[] }>("/v3/cluster/member/list", {})).members ?? [];
  }

  async addLearner(peerURL: string): Promise<Member> {
    return (await this.call<{ member: Member }>("/v3/cluster/member/add", { peerURLs: [peerURL], isLearner: true })).member;
  }

  async promote(id: string): Promise<void> {
    await this.call("/v3/cluster/member/promote", { ID: id });
  }

  async remove(id: string): Promise<void> {
    await this.call("/v3/cluster/member/remove", { ID: id });
  }

  async status(): Promise<{ memberId: string; leader: string; isLearner: boolean }> {
    const out = await this.call<{ header: { member_id: string }; leader: string; isLearner?: boolean }>("/v3/maintenance/status", {});
    return { memberId: out.header.member_id, leader: out.leader, isLearner: out.isLearner === true };
  }
}

export interface EtcdProcessOptions {
  name: string;
  ip: string;
  dataDir: string;
  initialCluster: string;
  state: "new" | "existing" | "restart";
  extraArgs: string[];
}

export const peerURL = (ip: string) => `http://${ip}:2380`;
export const clientURL = (ip: string) => `http://${ip}:2379`;

/** Starts etcd as a child; its output goes to the stand-in's journal. */
export function startEtcd(options: EtcdProcessOptions): Subprocess {
  const args = [
    "etcd",
    `--name=${options.name}`,
    `--data-dir=${options.dataDir}`,
    `--listen-client-urls=${clientURL(options.ip)},http://127.0.0.1:2379`,
    `--advertise-client-urls=${clientURL(options.ip)}`,
    `--listen-peer-urls=${peerURL(options.ip)}`,
    `--initial-advertise-peer-urls=${peerURL(options.ip)}`,
    "--heartbeat-interval=500",
    "--election-timeout=5000",
    "--log-level=warn",
  ];
  // A restart with data ignores the initial-cluster flags (etcd reads its WAL), as RKE2 does.
  if (options.state !== "restart") args.push(`--initial-cluster=${options.initialCluster}`, `--initial-cluster-state=${options.state}`);
  for (const extra of options.extraArgs) args.push(extra.startsWith("--") ? extra : `--${extra}`);
  // Without NOTIFY_SOCKET: etcd would tell systemd it is ready on its own (k3s unsets it too).
  const { NOTIFY_SOCKET: _notify, ...env } = process.env;
  return Bun.spawn(args, { stdout: "inherit", stderr: "inherit", env });
}
