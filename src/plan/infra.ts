// The infra phase: image, seed and vm steps (and the look for VMs not in the spec) through the
// Proxmox API, and how plan, apply and destroy open it: read the spec's secrets, connect, run
// the preflight, check the token's privileges and read the image's checksum. Every failure
// ends here with a message that says what to fix, and never with a secret in it.

import { errorMessage } from "../engine/index.ts";
import { AuthError, PermissionError } from "../proxmox/index.ts";
import { formatDiagnostic, toDiagnostic } from "../spec/diagnostics.ts";
import { SpecReferenceError } from "../spec/references.ts";
import { createInfraRun, type InfraRun } from "../steps/infra/context.ts";
import { isClusterVm } from "../steps/infra/tags.ts";
import { imageFamily } from "../steps/infra/image.ts";
import { vmNodes } from "../steps/infra/nodes.ts";
import { notInSpecFamily } from "../steps/infra/not-in-spec.ts";
import { poolLock } from "../steps/infra/pool-lock.ts";
import { preflight, type PreflightPurpose } from "../steps/infra/preflight.ts";
import { missingPrivileges, neededPrivileges, PrivilegeError, privilegeProblems } from "../steps/infra/privileges.ts";
import { seedFamily } from "../steps/infra/seed.ts";
import { vmFamily } from "../steps/infra/vm.ts";
import { connectProxmox, type ProxmoxAccess } from "./connect.ts";
import { explainProxmoxError } from "./explain.ts";
import { buildSteps, type PlanStep } from "./graph.ts";
import { type Phase, type RunIdentity, type Session, sessionLock, type ValidCluster } from "./session.ts";
import type { RunSink } from "./walk.ts";

/** Lists the cluster's VMs that the spec no longer names; acts on nothing. */
const NOT_IN_SPEC: PlanStep = { id: "vms-not-in-spec", kind: "vms-not-in-spec", needs: [] };

/** A refusal that names its privilege gets the pveum line that grants it (the API token's). */
export function withGrant(err: unknown, tokenId: string): unknown {
  return err instanceof PermissionError && err.aclPath !== undefined && err.privileges.length > 0
    ? new PrivilegeError(err.message, err.aclPath, err.privileges.join(" or "), tokenId, { cause: err })
    : err;
}

export const infraPhase: Phase<InfraRun> = {
  name: "infra",
  families: [imageFamily, seedFamily, vmFamily, notInSpecFamily],
  steps: (run) => [...buildSteps(run.inv, { phase: "infra" }), NOT_IN_SPEC],
  // One VM creation at a time per Proxmox node by default (spec.proxmox.vmCreatePerNode).
  limits: (run) => Object.fromEntries(vmNodes(run.inv).map((node) => [`vm-create:${node}`, run.inv.spec.proxmox.vmCreatePerNode])),
  explainError: (err, run) => withGrant(err, run.client.tokenId),
  // Without the privilege or the token nothing else will work either: stop instead of failing step by step.
  stopsRun: (err) => err instanceof PermissionError || err instanceof PrivilegeError || err instanceof AuthError,
};

export type InfraSession = Session<InfraRun>;

export interface InfraSessionOptions {
  /** Named in the lock. */
  who: RunIdentity;
  /** Plan: a missing privilege that only acting needs is a note, not a reason to stop. */
  observeOnly?: boolean;
}

/** Why the run cannot start (errors) and what apply will lack (notes), from the token's privileges and the image's checksum. */
async function readiness(run: InfraRun, purpose: PreflightPurpose, observeOnly: boolean): Promise<{ errors: string[]; notes: string[] }> {
  const { inv, client } = run;
  // destroy also touches VMs of the cluster the spec no longer names.
  const vmids = purpose === "destroy"
    ? [...inv.hosts.map((h) => h.vmid), ...(await run.facts.cluster()).vms.filter((vm) => isClusterVm(vm, inv.spec.name)).map((vm) => vm.vmid)]
    : undefined;
  const missing = await missingPrivileges(client, neededPrivileges(inv, purpose, vmids));
  const stopping = observeOnly ? missing.filter((m) => m.rule.read === true) : missing;
  const notes = observeOnly
    ? privilegeProblems(missing.filter((m) => m.rule.read !== true), client.tokenId).map((p) => (p.startsWith("the API token") ? `apply will stop here: ${p}` : p))
    : [];
  if (stopping.length > 0) return { errors: privilegeProblems(stopping, client.tokenId), notes };
  // The image's checksum, read once for every node's image step: an unreachable checksumUrl is one error, before any step.
  if (purpose === "converge") {
    const unreadable = await run.image().then(() => undefined, (err: unknown) => errorMessage(err));
    if (unreadable !== undefined) return { errors: [unreadable], notes };
  }
  return { errors: [], notes };
}

/** Opens the infra phase, or reports why not to the sink and returns undefined. */
export async function openInfraSession(
  cluster: ValidCluster,
  purpose: PreflightPurpose,
  sink: RunSink,
  opts: InfraSessionOptions,
): Promise<InfraSession | undefined> {
  const { file, inventory } = cluster;
  const spec = inventory.spec;
  let access: ProxmoxAccess;
  try {
    access = await connectProxmox(spec, cluster.dir, { env: cluster.env });
  } catch (err) {
    // A secret or the CA: FILE:LINE:COL of the reference, and what to do.
    sink.error(err instanceof SpecReferenceError ? formatDiagnostic(toDiagnostic(cluster, err.issue)) : errorMessage(err));
    return undefined;
  }
  const { client, secrets } = access;
  const locking = sessionLock(poolLock(client, spec.name), opts.who, sink, (err) => explainProxmoxError(err, spec, file));
  const close = async () => {
    try {
      await locking.release();
    } finally {
      await client.close();
    }
  };
  const run = createInfraRun({ inv: inventory, client, secrets });
  try {
    const { problems, warnings } = await preflight(inventory, run.facts, purpose);
    for (const warning of warnings) sink.message(`warning: ${warning}`);
    if (problems.length > 0) {
      for (const problem of problems) sink.error(problem);
      sink.message(`${file}: Proxmox at ${spec.proxmox.endpoint} does not fit the spec; nothing done`);
      await close();
      return undefined;
    }
    const { errors, notes } = await readiness(run, purpose, opts.observeOnly === true);
    for (const note of notes) sink.message(note);
    if (errors.length > 0) {
      for (const error of errors) sink.error(error);
      sink.message(`${file}: nothing done`);
      await close();
      return undefined;
    }
  } catch (err) {
    sink.error(explainProxmoxError(err, spec, file));
    await close().catch(() => undefined);
    return undefined;
  }
  return { inventory, phase: infraPhase, run, lock: locking.lock, close };
}
