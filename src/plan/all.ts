// `apply FILE` without --phase: the infra and the cluster phase as ONE graph (boot:<host> needs
// vm:<host>), so a host's configuration starts as soon as its own VM runs, not when the last VM
// is made. The combined run holds both runs; its registry is both registries, each family
// handed its own phase's run. Locks: the Proxmox lock (every run that makes or changes VMs
// takes it) and, when the first server's VM already runs, the SSH lock on it as well, so that
// a `--phase cluster` run elsewhere (a jump host) is excluded too. A first server this run still
// creates has no lock file to take, and no other cluster-phase run can reach it before it
// exists; that run would meet the lock only once it does (left: take it after boot).

import type { InfraRun } from "../steps/infra/context.ts";
import type { StepFamily } from "../steps/family.ts";
import type { ClusterRun } from "../steps/cluster/context.ts";
import { isClusterVm } from "../steps/infra/tags.ts";
import { type ClusterSession, implementedSteps } from "./cluster.ts";
import { buildSteps } from "./graph.ts";
import type { InfraSession } from "./infra.ts";
import type { LockRequest, Phase, PhaseRun, Session } from "./session.ts";
import type { RunSink } from "./walk.ts";

export interface AllRun extends PhaseRun<AllRun> {
  infra: InfraRun;
  cluster: ClusterRun;
}

function combinedRun(infra: InfraRun, cluster: ClusterRun): AllRun {
  return { infra, cluster, refreshed: () => combinedRun(infra.refreshed(), cluster.refreshed()) };
}

/** A family of one phase, seeing only that phase's run. */
function lifted<Run>(family: StepFamily<Run>, pick: (run: AllRun) => Run): StepFamily<AllRun> {
  return { ...family, observe: (run, step, ctx) => family.observe(pick(run), step, ctx) };
}

export function allPhase(infra: Phase<InfraRun>, cluster: Phase<ClusterRun>): Phase<AllRun> {
  const clusterKinds = new Set(cluster.families.flatMap((family) => family.kinds));
  return {
    name: "all",
    families: [...infra.families.map((f) => lifted(f, (run) => run.infra)), ...cluster.families.map((f) => lifted(f, (run) => run.cluster))],
    steps: (run) => [
      ...infra.steps(run.infra),
      ...implementedSteps(buildSteps(run.infra.inv, { phase: "all" }).filter((step) => clusterKinds.has(step.kind)), cluster.families),
    ],
    limits: (run) => ({ ...infra.limits(run.infra), ...cluster.limits(run.cluster) }),
    explainError: (err, run) => {
      const explained = cluster.explainError?.(err, run.cluster) ?? err;
      return infra.explainError?.(explained, run.infra) ?? explained;
    },
    ...(infra.stopsRun !== undefined && { stopsRun: infra.stopsRun }),
  };
}

/** Both sessions as one; closing it closes both. */
export function combineSessions(infra: InfraSession, cluster: ClusterSession, sink: RunSink): Session<AllRun> {
  const { inventory } = infra;
  return {
    inventory,
    phase: allPhase(infra.phase, cluster.phase),
    run: combinedRun(infra.run, cluster.run),
    async lock(request: LockRequest): Promise<boolean> {
      if (!(await infra.lock(request))) return false;
      const first = inventory.firstServer;
      const vms = (await infra.run.facts.freshVms()).vms;
      const running = vms.some((vm) => vm.vmid === first.vmid && vm.status === "running" && isClusterVm(vm, inventory.spec.name));
      if (!running) {
        sink.message(`the first server ${first.name} does not run yet: the SSH run lock on it is not taken (the Proxmox lock is)`);
        return true;
      }
      return cluster.lock(request);
    },
    async close() {
      try {
        await cluster.close();
      } finally {
        await infra.close();
      }
    },
  };
}
