// A step of the plan as the graph knows it: an id, a kind and what it needs.
// graph/ knows nothing of Proxmox, SSH or RKE2; the kinds are just names here.

export type StepKind =
  | "image"
  | "seed"
  | "vm"
  | "boot"
  | "lb-first"
  | "lb-rest"
  | "server-first"
  | "server-rest"
  | "agents"
  | "kured"
  | "kubeconfig";

export interface StepNode {
  id: string; // "<kind>:<host or pve node>", or the kind alone for cluster-wide steps
  kind: StepKind;
  host?: string;
  pveNode?: string;
  needs: string[];
  /** Named limits the step holds while it runs, e.g. "vm-create:node01". */
  limits?: string[];
}
