// What every cluster step of one run shares: the inventory, the node OS, each host's rendered
// files and SSH connection, one batched read of facts per host, and values worked out once per
// run (the join token, the RKE2 version). Connections outlive `refreshed()`; facts do not.
import type { Duplex } from "node:stream";
import type { Host, Inventory } from "../../inventory/types.ts";
import type { FactsQuery, NodeFacts, NodeOs } from "../../nodeos/index.ts";
import { type RenderedFile, type RenderSecrets, renderHost } from "../../render/index.ts";
import type { SshHost } from "../../ssh/pool.ts";
import type { ObserveContext } from "../family.ts";
import { Once, remembered } from "../memo.ts";
import { factsQuery } from "./node-facts.ts";

export interface ClusterRun {
  inv: Inventory;
  os: NodeOs;
  /** The files render makes for the host that live on the node (not the seed ISO's). */
  files(host: Host): readonly RenderedFile[];
  /** The host's SSH connection; nothing connects before its first command. */
  ssh(host: Host): SshHost;
  /** The host's facts, read once per run; `ctx.fresh` reads again (on a retry, or while waiting for a state). */
  facts(host: Host, ctx: ObserveContext): Promise<NodeFacts>;
  /** A step acted on the named host (absent: a step that names no host; every host is forgotten): the next `facts` reads again. */
  forgetFacts(hostName?: string): void;
  /**
   * Opens and closes a TCP connection to address:port from where the hosts are reached (through
   * the jump chain when there is one): the control side's view of a service such as the VIP.
   */
  connectTcp(address: string, port: number, timeoutMs: number): Promise<void>;
  /** A TCP stream to address:port from where the hosts are reached (the API through the VIP); absent in runs that never use the API. */
  openTcp?(address: string, port: number, timeoutMs: number): Promise<Duplex>;
  /** Where the cluster's kubeconfig is written on this machine (`-o PATH`, or `<cluster>.kubeconfig` beside FILE); absent: not written. */
  kubeconfigPath?: string;
  /** Works a value out once per run for every step that asks under `key`; a failure is not kept. */
  once<T>(key: string, work: () => Promise<T>): Promise<T>;
  /** The same run with nothing read yet (under the lock everything is read again). */
  refreshed(): ClusterRun;
}

export interface ClusterRunOptions {
  inv: Inventory;
  os: NodeOs;
  secrets: RenderSecrets;
  ssh(host: Host): SshHost;
  connectTcp(address: string, port: number, timeoutMs: number): Promise<void>;
  openTcp?(address: string, port: number, timeoutMs: number): Promise<Duplex>;
  kubeconfigPath?: string;
}

/** Runs one facts query on the host now (no memo): a step that waits for a state reads this way. */
export async function readFacts(os: NodeOs, ssh: SshHost, query: FactsQuery): Promise<NodeFacts> {
  const result = await ssh.exec(os.factsScript(query), { description: "read the node's facts" });
  if (result.code !== 0) throw new Error(`${ssh.name}: reading the node's facts failed (exit ${result.code}): ${result.stderr.trim()}`);
  return os.parseFacts(query, result.stdout);
}

export function createClusterRun(opts: ClusterRunOptions): ClusterRun {
  const rendered = new Map<string, RenderedFile[]>();
  const files = (host: Host): RenderedFile[] => {
    let mine = rendered.get(host.name);
    if (mine === undefined) {
      mine = renderHost(opts.inv, host, opts.secrets).filter((file) => file.scope === "node");
      rendered.set(host.name, mine);
    }
    return mine;
  };
  const withNothingRead = (): ClusterRun => {
    const facts = new Map<string, Once<NodeFacts>>();
    const onces = new Map<string, Once<unknown>>();
    return {
      inv: opts.inv,
      os: opts.os,
      files,
      ssh: opts.ssh,
      connectTcp: opts.connectTcp,
      ...(opts.openTcp !== undefined && { openTcp: opts.openTcp }),
      ...(opts.kubeconfigPath !== undefined && { kubeconfigPath: opts.kubeconfigPath }),
      facts(host, ctx) {
        return remembered(facts, host.name, ctx.fresh, () => readFacts(opts.os, opts.ssh(host), factsQuery(opts.inv, host, files(host))));
      },
      forgetFacts(hostName) {
        if (hostName === undefined) facts.clear();
        else facts.delete(hostName);
      },
      once<T>(key: string, work: () => Promise<T>): Promise<T> {
        return remembered(onces as Map<string, Once<T>>, key, false, work);
      },
      refreshed: withNothingRead,
    };
  };
  return withNothingRead();
}
