// The kubeconfig starbase hands over (step kubeconfig): the first server's rke2.yaml with the
// server moved to the VIP and the entries named after the cluster, written on this machine
// (0600, atomically, only when it differs). Before apply reports success the file is used once
// as its owner will: /readyz and the node list through https://VIP:6443 with its own client
// certificate, the VIP's certificate checked against its CA, through the jump chain if there is one.
import { checkApi, type NodeState } from "../../kube/api.ts";
import { compareLocal, readLocalFile, writeAtomically } from "../../kube/kubeconfig-file.ts";
import { clusterKubeconfig, kubeconfigAccess, vipServer } from "../../render/kubeconfig.ts";
import type { StepFamily } from "../family.ts";
import { type ActContext, type Observed, unchanged } from "../observed.ts";
import type { ClusterRun } from "./context.ts";
import { RKE2_KUBECONFIG_PATH } from "./node-facts.ts";

/** The API behind a VIP that just moved or a haproxy that just reloaded answers within seconds. */
const API_SETTLE_MS = 60_000;
const API_POLL_MS = 1_000;
const REQUEST_TIMEOUT_MS = 5_000;

export class KubeconfigStepError extends Error {
  override readonly name = "KubeconfigStepError";
}

/** The cluster's kubeconfig made from the first server's rke2.yaml (read once per run; its text is never printed). */
export function fetchClusterKubeconfig(run: ClusterRun): Promise<string> {
  return run.once("cluster-kubeconfig", async () => {
    const first = run.inv.firstServer;
    const result = await run.ssh(first).exec(`cat ${RKE2_KUBECONFIG_PATH}`, { description: `read ${RKE2_KUBECONFIG_PATH}` });
    // Neither stdout nor stderr in the message: the file holds the admin's client key.
    if (result.code !== 0) throw new KubeconfigStepError(`${first.name}: could not read ${RKE2_KUBECONFIG_PATH} (exit ${result.code}); it appears once rke2-server has started`);
    const { name, loadBalancer } = run.inv.spec;
    return clusterKubeconfig(result.stdout, name, loadBalancer.vip);
  });
}

function describeNodes(nodes: readonly NodeState[]): string {
  const ready = nodes.filter((n) => n.ready).length;
  return `${nodes.length} node${nodes.length === 1 ? "" : "s"}, ${ready} Ready`;
}

/** One use of the kubeconfig through the VIP; waits (with progress) while the API does not answer yet. */
export async function verifyKubeconfig(run: ClusterRun, text: string, what: string, ctx?: ActContext): Promise<NodeState[]> {
  const access = kubeconfigAccess(text, what);
  const open = run.openTcp;
  if (open === undefined) throw new Error("internal: the cluster run has no TCP opener for the API check");
  const started = Date.now();
  for (;;) {
    try {
      return await checkApi(access, open, REQUEST_TIMEOUT_MS);
    } catch (err) {
      const waited = Date.now() - started;
      const reason = (err as Error).message;
      if (ctx === undefined || waited > API_SETTLE_MS) {
        throw new KubeconfigStepError(`${what} does not work through ${access.server}${ctx === undefined ? "" : ` after ${Math.round(waited / 1000)} s`}: ${reason}`);
      }
      ctx.report(`waiting for the API through ${access.server} (${Math.round(waited / 1000)} s): ${reason}`);
      await Bun.sleep(API_POLL_MS);
      ctx.signal.throwIfAborted();
    }
  }
}

export const kubeconfigFamily: StepFamily<ClusterRun> = {
  kinds: ["kubeconfig"],
  timeoutMs: 180_000,
  async observe(run, _step, ctx): Promise<Observed> {
    const first = run.inv.firstServer;
    const facts = await run.facts(first, ctx);
    const path = run.kubeconfigPath;
    if (path === undefined) throw new Error("internal: the cluster run has no kubeconfig path");
    const subject = `kubeconfig ${path}`;
    const server = vipServer(run.inv.spec.loadBalancer.vip);
    if (facts.exists.get(RKE2_KUBECONFIG_PATH) !== true) {
      throw new KubeconfigStepError(`${first.name}: ${RKE2_KUBECONFIG_PATH} does not exist: rke2-server has not started there (server-first)`);
    }
    const text = await fetchClusterKubeconfig(run);
    const difference = compareLocal(readLocalFile(path), text);
    if (difference === "same") {
      // Nothing to write: this run still proves the file works before it reports success.
      const nodes = await verifyKubeconfig(run, text, path);
      return { changes: [unchanged(subject, `works through ${server}: ${describeNodes(nodes)}`)] };
    }
    const change = difference === "missing"
      ? { op: "+" as const, subject, reason: `the cluster's admin access through ${server} (0600)` }
      : difference === "content"
        ? { op: "~" as const, subject, reason: "differs from the first server's rke2.yaml" }
        : { op: "~" as const, subject, field: "mode", to: "0600", reason: "it holds the admin's client key" };
    return {
      changes: [change],
      async apply(actx) {
        writeAtomically(path, text);
        actx.report(`checking ${path} through ${server}`);
        await verifyKubeconfig(run, text, path, actx);
      },
    };
  },
};
