// The infra steps against a live Proxmox: each step of the graph gets its observe-then-act
// implementation. `plan` runs the same steps in "plan" mode (observe, record, act on nothing),
// `apply` in "apply" mode (observe, record, act on a difference), `destroy` the removal steps.

import type { Outcome, RetryPolicy, RunnableStep, StepContext } from "../engine/index.ts";
import type { StepNode } from "../graph/types.ts";
import { isRetryable, PermissionError } from "../proxmox/index.ts";
import { BlockedChangeError, type Change, formatChange, type Observed } from "../steps/observed.ts";
import type { InfraRun } from "../steps/infra/context.ts";
import { type DestroyCheck, observeSeedRemoval, observeVmRemoval, seedNodes } from "../steps/infra/destroy.ts";
import { observeImage } from "../steps/infra/image.ts";
import { observeNotInSpec } from "../steps/infra/not-in-spec.ts";
import { vmNodes } from "../steps/infra/nodes.ts";
import { observeSeed } from "../steps/infra/seed.ts";
import { PrivilegeError } from "../steps/infra/privileges.ts";
import { ObserveAgainError } from "../steps/observed.ts";
import { observeVm } from "../steps/infra/vm.ts";
import { buildSteps } from "./graph.ts";

export type LiveMode = "plan" | "apply";

/** Changes per step id, as last observed (a retried step replaces its entry). */
export type ChangeLog = Map<string, Change[]>;

const MINUTE = 60_000;
/** Per attempt. Imports and downloads of big images take minutes on real storage. */
const TIMEOUT_MS: Partial<Record<StepNode["kind"], number>> = { image: 60 * MINUTE, seed: 10 * MINUTE, vm: 60 * MINUTE };

/** Retries only what may pass on its own (lost answers, lock timeouts); every retry observes again before acting. */
export const INFRA_RETRY: RetryPolicy = {
  attempts: 8,
  baseMs: 500,
  maxMs: 10_000,
  isRetryable: (err) => isRetryable(err) || err instanceof ObserveAgainError,
};

/** One VM creation at a time per Proxmox node by default (spec.proxmox.vmCreatePerNode). */
export function infraLimits(run: InfraRun): Record<string, number> {
  const perNode = run.inv.spec.proxmox.vmCreatePerNode;
  return Object.fromEntries(vmNodes(run.inv).map((node) => [`vm-create:${node}`, perNode]));
}

export interface LiveOptions {
  mode: LiveMode;
  log: ChangeLog;
  /** Sees every error a step throws (apply stops the whole run on a missing privilege). */
  onError?: (err: unknown) => void;
  /** apply: whether a removal may be made; one that may not stops its step. Absent: every removal may. */
  mayRemove?: (change: Change) => boolean;
}

/** A step found a removal under the lock that the confirmed plan did not show. Not retried: the user must see it first. */
export class UnconfirmedRemovalError extends Error {
  override name = "UnconfirmedRemovalError";
  constructor(readonly changes: Change[]) {
    super(`would remove what the confirmed plan did not show: ${changes.map(formatChange).join("; ")}; `
      + "nothing was removed; run apply again to see the new plan (or pass --yes)");
  }
}

/** Reads what a step is about; `fresh` ignores what this run has read before. */
type Observe = (fresh: boolean) => Promise<Observed>;

/** A refusal that names its privilege gets the pveum line that grants it (the API token's). */
function withGrant(err: unknown, tokenId: string): unknown {
  return err instanceof PermissionError && err.aclPath !== undefined && err.privileges.length > 0
    ? new PrivilegeError(err.message, err.aclPath, err.privileges.join(" or "), tokenId, { cause: err })
    : err;
}

function runnable(node: StepNode, observe: Observe, opts: LiveOptions & { tokenId: string }): RunnableStep {
  const timeoutMs = TIMEOUT_MS[node.kind];
  const { limits, ...rest } = node;
  return {
    ...rest,
    // Observing needs no creation slot.
    ...(opts.mode === "apply" && limits !== undefined && { limits }),
    ...(timeoutMs !== undefined && { timeoutMs }),
    async run(ctx: StepContext) {
      try {
        return await observeAndAct(node, ctx, observe, opts);
      } catch (err) {
        opts.onError?.(err);
        throw withGrant(err, opts.tokenId);
      }
    },
  };
}

async function observeAndAct(node: StepNode, ctx: StepContext, observe: Observe, { mode, log, mayRemove }: LiveOptions): Promise<Outcome> {
  // A retry may follow a request whose outcome is unknown: read the cluster again, never the cache.
  const observed = await observe(ctx.attempt > 1);
  log.set(node.id, observed.changes);
  const blocked = observed.changes.filter((c) => c.op === "!");
  if (blocked.length > 0) throw new BlockedChangeError(blocked);
  if (observed.apply === undefined) return "unchanged";
  if (mode === "plan") return "changed";
  const unconfirmed = mayRemove === undefined ? [] : observed.changes.filter((c) => c.op === "-" && !mayRemove(c));
  if (unconfirmed.length > 0) throw new UnconfirmedRemovalError(unconfirmed);
  for (const change of observed.changes.filter((c) => c.op !== "=")) ctx.report(formatChange(change));
  await observed.apply(ctx);
  return "changed";
}

/** Lists the cluster's VMs that the spec no longer names; acts on nothing. */
const NOT_IN_SPEC: StepNode = { id: "vms-not-in-spec", kind: "vm", needs: [] };

/** The infra phase's steps (image, seed, vm, and the look for VMs not in the spec), ready for runSteps. */
export function infraRunnables(run: InfraRun, liveOptions: LiveOptions): RunnableStep[] {
  const opts = { ...liveOptions, tokenId: run.client.tokenId };
  const hosts = new Map(run.inv.hosts.map((h) => [h.name, h]));
  const steps = buildSteps(run.inv, { phase: "infra" }).map((node) => {
    const host = node.host === undefined ? undefined : hosts.get(node.host);
    switch (node.kind) {
      case "image":
        return runnable(node, (fresh) => observeImage(run, node.pveNode!, fresh), opts);
      case "seed":
        return runnable(node, (fresh) => observeSeed(run, host!, fresh), opts);
      case "vm":
        return runnable(node, (fresh) => observeVm(run, host!, fresh), opts);
      default:
        throw new Error(`infra phase: no implementation for step ${node.id}`);
    }
  });
  return [...steps, runnable(NOT_IN_SPEC, (fresh) => observeNotInSpec(run, fresh), opts)];
}

/**
 * destroy: one step per VM of the cluster (stop, delete with its disks), then one per node for
 * the seed ISOs, after the VMs of that node are gone (one for a shared storage, after all VMs).
 * The VMs are those `checkDestroy` found in Proxmox, not those of the spec.
 */
export async function destroyRunnables(run: InfraRun, check: DestroyCheck, liveOptions: LiveOptions): Promise<RunnableStep[]> {
  const opts = { ...liveOptions, tokenId: run.client.tokenId };
  const { vms } = check;
  const hostNames = [...new Set([...run.inv.hosts.map((h) => h.name), ...vms.flatMap((vm) => (vm.name === undefined ? [] : [vm.name]))])];
  const vmSteps = vms.map((vm) => {
    const node: StepNode = { id: `destroy-vm:${vm.name ?? vm.vmid}`, kind: "vm", pveNode: vm.node, needs: [], ...(vm.name !== undefined && { host: vm.name }) };
    return runnable(node, (fresh) => observeVmRemoval(run, vm, fresh), opts);
  });
  const storage = run.inv.spec.proxmox.storage.cloudInit;
  const { storages } = await run.facts.cluster();
  const shared = (pveNode: string) => storages.find((s) => s.storage === storage && s.node === pveNode)?.shared === true;
  const nodes = seedNodes(run.inv, vms);
  // A shared storage shows every node the same files: one step, from the first node, after every VM.
  const seedStepNodes = [...nodes.filter((n) => !shared(n)), ...nodes.filter(shared).slice(0, 1)];
  const seedSteps = seedStepNodes.map((pveNode) => {
    const needs = vmSteps.filter((s) => shared(pveNode) || s.pveNode === pveNode).map((s) => s.id);
    const node: StepNode = { id: `destroy-seeds:${pveNode}`, kind: "seed", pveNode, needs };
    return runnable(node, (fresh) => observeSeedRemoval(run, pveNode, { hostNames, check }, fresh), opts);
  });
  return [...vmSteps, ...seedSteps];
}
