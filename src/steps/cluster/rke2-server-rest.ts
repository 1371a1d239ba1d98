// server-rest: every other server joins through https://VIP:9345 with the first server's token in
// /etc/rancher/rke2/join-token (0600), and is Ready before the next one starts. One at a time is
// the graph's doing (each server-rest step needs the one before: etcd admits one learner at a time).
import type { StepFamily } from "../family.ts";
import { stepHost } from "../family.ts";
import type { ClusterRun } from "./context.ts";
import { DEFAULT_RKE2_WAITS, observeRke2Node, type Rke2Waits } from "./rke2-node.ts";

export function serverRestFamily(waits: Rke2Waits = DEFAULT_RKE2_WAITS): StepFamily<ClusterRun> {
  return {
    kinds: ["server-rest"],
    observe: (run, step, ctx) => observeRke2Node(run, stepHost(run.inv, step), "server-rest", ctx, waits),
  };
}
