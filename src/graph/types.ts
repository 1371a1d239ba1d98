// A step of the plan as the graph knows it: an id, a kind and what it needs.
// graph/ knows nothing of Proxmox, SSH or RKE2: a kind is just a name here (plan/kinds.ts
// lists the ones starbase has).

export interface StepNode {
  id: string; // "<kind>:<host or pve node>", or the kind alone for cluster-wide steps
  /** The step's family, e.g. "vm"; graph/ and engine/ only group and print it. */
  kind: string;
  host?: string;
  pveNode?: string;
  needs: string[];
  /** Named limits the step holds while it runs, e.g. "vm-create:node01". */
  limits?: string[];
}

/** A step's identity without its needs and limits: what events, findings and JSON carry. */
export type StepRef = {
  id: string;
  kind: string;
  host?: string;
  pveNode?: string;
};

/** The identity of `step`; absent host and pveNode are left out, never undefined. */
export function stepRef(step: StepRef): StepRef {
  return {
    id: step.id,
    kind: step.kind,
    ...(step.host !== undefined && { host: step.host }),
    ...(step.pveNode !== undefined && { pveNode: step.pveNode }),
  };
}
