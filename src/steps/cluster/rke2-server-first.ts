// server-first: the first server gets the spec's RKE2 release and config.yaml (no `server:`, it
// starts the cluster), starts, answers /ping with pong and is Ready; its node token is read once.
import type { StepFamily } from "../family.ts";
import { stepHost } from "../family.ts";
import type { ClusterRun } from "./context.ts";
import { DEFAULT_RKE2_WAITS, observeRke2Node, type Rke2Waits } from "./rke2-node.ts";

export function serverFirstFamily(waits: Rke2Waits = DEFAULT_RKE2_WAITS): StepFamily<ClusterRun> {
  return {
    kinds: ["server-first"],
    observe: (run, step, ctx) => observeRke2Node(run, stepHost(run.inv, step), "server-first", ctx, waits),
  };
}
