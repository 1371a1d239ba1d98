// A step family: the kinds of step it implements and how one such step observes. The registry
// of a phase (plan/phases.ts) maps each step of the graph to its family, so a new family is one
// file here and one line there; the family knows nothing of the scheduler.

import type { StepNode } from "../graph/types.ts";
import type { Host, Inventory } from "../inventory/types.ts";
import type { Observed } from "./observed.ts";

/** What one observation may ask of the run it is part of. */
export interface ObserveContext {
  /** Ignore what this run has read before: a retry may follow a request whose outcome is unknown. */
  fresh: boolean;
  /** The live progress line while observing waits (a VM still booting): "lb01: waiting for SSH (12 s)". */
  report?(message: string): void;
}

export interface StepFamily<Run> {
  /** The step kinds (`StepNode.kind`) this family implements. */
  kinds: readonly string[];
  /** Per attempt; absent: no limit. */
  timeoutMs?: number;
  /**
   * True when the step can be observed while a step it needs still has work: what it reads exists
   * before that need acts (the Proxmox API, its VM list, its storages). Otherwise an observing
   * walk reports the step as known only after that need acts (a VM not created yet has no SSH to
   * look at), and it observes nothing.
   */
  observableBeforeNeeds?: true;
  observe(run: Run, step: StepNode, ctx: ObserveContext): Promise<Observed>;
}

/** The one field a family needs of its step, or an error that names the step without it (a graph bug). */
export function stepField(step: StepNode, field: "host" | "pveNode"): string {
  const value = step[field];
  if (value === undefined) throw new Error(`internal: step ${step.id} has no ${field}`);
  return value;
}

/** The host a step is about, or an error that names the step (a graph bug). */
export function stepHost(inv: Inventory, step: StepNode): Host {
  const name = stepField(step, "host");
  const host = inv.hosts.find((h) => h.name === name);
  if (host === undefined) throw new Error(`internal: step ${step.id} is about ${name}, which the inventory does not have`);
  return host;
}
