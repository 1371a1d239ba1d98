// agents: every agent joins through the VIP with the first server's token and is Ready. Agents
// run in parallel (the supervisor rate-limits and agents retry), under the phase's concurrency limit.
import type { StepFamily } from "../family.ts";
import { stepHost } from "../family.ts";
import type { ClusterRun } from "./context.ts";
import { DEFAULT_RKE2_WAITS, observeRke2Node, type Rke2Waits } from "./rke2-node.ts";

export function agentsFamily(waits: Rke2Waits = DEFAULT_RKE2_WAITS): StepFamily<ClusterRun> {
  return {
    kinds: ["agents"],
    observe: (run, step, ctx) => observeRke2Node(run, stepHost(run.inv, step), "agents", ctx, waits),
  };
}
