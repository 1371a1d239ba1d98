// The step graph of a converge run: which steps exist and what each needs (design.md §4).

import type { StepNode } from "../graph/types.ts";
import type { Host, Inventory } from "../inventory/types.ts";
import { imageNodes } from "../steps/infra/nodes.ts";

/** Every kind of step starbase has; graph/ and engine/ see only a string. */
export type StepKind =
  // infra: through the Proxmox API
  | "image"
  | "seed"
  | "vm"
  | "vms-not-in-spec"
  // cluster: over SSH
  | "boot"
  | "lb-first"
  | "lb-rest"
  | "server-first"
  | "server-rest"
  | "agents"
  | "kured"
  | "kubeconfig"
  // destroy
  | "destroy-vm"
  | "destroy-seeds";

export interface PlanStep extends StepNode {
  kind: StepKind;
}

export type Phase = "infra" | "cluster" | "all";
export const phases: readonly Phase[] = ["infra", "cluster", "all"];

export interface BuildStepsOptions {
  /** infra: image, seed and vm only; cluster: boot onward, without the needs on infra steps. */
  phase?: Phase;
}

/**
 * Every step of a converge run with exactly what it needs (design.md §4), in dependency
 * order. A step waits only for what it uses: the LB pair needs only the LB VMs, so it is
 * configured while the servers still boot; joins need the first LB because they go through the VIP.
 */
export function buildSteps(inv: Inventory, opts: BuildStepsOptions = {}): PlanStep[] {
  const infra = infraSteps(inv);
  const cluster = clusterSteps(inv);
  switch (opts.phase ?? "all") {
    case "all":
      return [...infra, ...cluster];
    case "infra":
      return infra;
    case "cluster": {
      // The cluster phase runs where the VMs already exist: what infra made is a given, not a need.
      const made = new Set(infra.map((step) => step.id));
      return cluster.map((step) => ({ ...step, needs: step.needs.filter((need) => !made.has(need)) }));
    }
  }
}

/** Image (one per Proxmox node that gets it), seed and VM steps. */
function infraSteps(inv: Inventory): PlanStep[] {
  const images = imageNodes(inv).map(
    (pveNode): PlanStep => ({ id: `image:${pveNode}`, kind: "image", pveNode, needs: [] }),
  );
  const seeds = inv.hosts.map(
    (host): PlanStep => ({ id: `seed:${host.name}`, kind: "seed", host: host.name, pveNode: host.pveNode, needs: [] }),
  );
  const vms = inv.hosts.map(
    (host): PlanStep => ({
      id: `vm:${host.name}`,
      kind: "vm",
      host: host.name,
      pveNode: host.pveNode,
      needs: [`image:${host.pveNode}`, `seed:${host.name}`],
      // Proxmox holds node-wide storage locks while it creates a disk; parallel creations time out.
      limits: [`vm-create:${host.pveNode}`],
    }),
  );
  return [...images, ...seeds, ...vms];
}

function clusterSteps(inv: Inventory): PlanStep[] {
  const boot = (host: Host) => `boot:${host.name}`;
  const onHost = (kind: StepKind, host: Host, needs: string[]): PlanStep => ({
    id: `${kind}:${host.name}`,
    kind,
    host: host.name,
    pveNode: host.pveNode,
    needs,
  });

  const steps: PlanStep[] = inv.hosts.map((host) => onHost("boot", host, [`vm:${host.name}`]));

  const { firstLoadBalancer, firstServer } = inv;
  const lbFirst = onHost("lb-first", firstLoadBalancer, [boot(firstLoadBalancer)]);
  const otherLbs = inv.loadBalancers.filter((lb) => lb !== firstLoadBalancer);
  const lbRest = otherLbs.map((lb) => onHost("lb-rest", lb, [lbFirst.id, boot(lb)]));
  steps.push(lbFirst, ...lbRest);
  // Joins register through the VIP, which answers once the first LB is configured.
  const viaVip = [lbFirst.id];

  const otherServers = inv.servers.filter((server) => server !== firstServer);
  const serverFirst = onHost("server-first", firstServer, [boot(firstServer)]);
  steps.push(serverFirst);
  // etcd admits one member at a time: each server joins after the one before it is ready.
  let previous = serverFirst.id;
  for (const server of otherServers) {
    const step = onHost("server-rest", server, [previous, boot(server), ...viaVip]);
    steps.push(step);
    previous = step.id;
  }
  steps.push(...inv.agents.map((agent) => onHost("agents", agent, [serverFirst.id, ...viaVip, boot(agent)])));
  if (inv.spec.kured.enabled) steps.push({ id: "kured", kind: "kured", needs: [serverFirst.id] });
  // The kubeconfig is used once through the VIP before apply hands it over: the LB pair must be up.
  steps.push({ id: "kubeconfig", kind: "kubeconfig", needs: [serverFirst.id, lbFirst.id, ...lbRest.map((step) => step.id)] });
  return steps;
}
