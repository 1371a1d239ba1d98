// What a route handler gets, and the checks most handlers share.
import type { AccessControl, Identity } from "../auth.ts";
import { ApiError, handlerError, paramError } from "../errors.ts";
import type { FaultInjector, RequestFaults } from "../faults.ts";
import type { MultipartUpload } from "../http-body.ts";
import { type LockManager, type LockRequest, vmLockRequest } from "../locks.ts";
import type { UpstreamFile } from "../options.ts";
import type { ApiSchema } from "../schema.ts";
import type { VmSamples } from "../samples.ts";
import type { EmulatorState, TaskRecord, VmRecord } from "../state.ts";
import type { DatacenterConfig } from "../tag-access.ts";
import { FLOCK_WAIT, storageLockError, storageLockLog } from "../storage-model.ts";
import type { TaskContext, TaskManager, TaskPlan } from "../tasks.ts";

export interface Release {
  /** e.g. "9.1" */
  name: string;
  major: number;
  minor: number;
}

export const atLeast = (release: Release, major: number, minor: number): boolean =>
  release.major > major || (release.major === major && release.minor >= minor);

export interface EmulatorCore {
  release: Release;
  /** Tokens, users and their ACLs. */
  access: AccessControl;
  state: EmulatorState;
  /** pvestatd's samples of the VMs, which /cluster/resources shows. */
  samples: VmSamples;
  /** datacenter.cfg */
  datacenter: DatacenterConfig;
  tasks: TaskManager;
  locks: LockManager;
  faults: FaultInjector;
  schema?: ApiSchema;
  upstream: Map<string, UpstreamFile>;
  allocationMs: number;
  /** The lock scale, also applied to waits measured in seconds (delay, background_delay). */
  timeScale: number;
  agentDelayMs: number;
  fingerprint: string;
}

export interface RouteContext {
  core: EmulatorCore;
  /** Validated parameters: path, query and body merged. */
  params: Record<string, unknown>;
  identity: Identity;
  faults: RequestFaults;
  upload?: MultipartUpload;
}

export type RouteHandler = (context: RouteContext) => unknown;

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: string;
  handler: RouteHandler;
}

/** A response with top-level members besides `data` (e.g. `total` of task logs). */
export class Envelope {
  constructor(
    readonly data: unknown,
    readonly extra: Record<string, unknown>,
  ) {}
}

export function text(context: RouteContext, name: string): string | undefined {
  const value = context.params[name];
  return value === undefined || value === null ? undefined : String(value);
}

export function requiredText(context: RouteContext, name: string): string {
  return text(context, name) ?? "";
}

export function integer(context: RouteContext, name: string): number | undefined {
  const value = text(context, name);
  return value === undefined ? undefined : Number(value);
}

export function flag(context: RouteContext, name: string): boolean {
  const value = context.params[name];
  return value === true || value === 1 || value === "1";
}

export function nodeName(context: RouteContext): string {
  return requiredText(context, "node");
}

export function vmid(context: RouteContext): number {
  return Number(requiredText(context, "vmid"));
}

/** Resolves the node a request addresses; unknown names fail like the proxy's DNS lookup. */
export function requireNode(core: EmulatorCore, node: string): void {
  const record = core.state.node(node);
  if (!record) throw handlerError(`hostname lookup '${node}' failed - failed to get address info for: ${node}: Name or service not known`);
  if (!record.online) throw new ApiError(595, "No route to host", undefined, true);
}

export function configPath(node: string, id: number): string {
  return `nodes/${node}/qemu-server/${id}.conf`;
}

/** PVE::QemuConfig->load_config on a node: the VM's config must live on that node. */
export function vmOnNode(core: EmulatorCore, node: string, id: number): VmRecord {
  const vm = core.state.vm(id);
  if (!vm || vm.node !== node) throw handlerError(`Configuration file '${configPath(node, id)}' does not exist`);
  return vm;
}

/** check_lock: most operations refuse while the config carries a `lock` property. */
export function checkLock(vm: VmRecord): void {
  const lock = vm.config.lock;
  if (lock) throw handlerError(`VM is locked (${lock})`);
}

/** skiplock is root@pam only, and an API token never is root@pam. */
export function refuseSkiplock(context: RouteContext): void {
  if (flag(context, "skiplock")) throw paramError({ skiplock: "Only root may use this option." });
}

/** Takes the VM's config flock; an injected lock fault hits the first acquisition of a request. */
export function vmLock(context: RouteContext, id: number, timeoutMs: number): LockRequest {
  const forced = context.faults.lockTimeout;
  context.faults = { ...context.faults, lockTimeout: false };
  return vmLockRequest(id, timeoutMs, forced);
}

/** Starts a worker with this request's fault plan and returns its UPID. */
export function startTask(
  context: RouteContext,
  node: string,
  type: string,
  id: string,
  work: (task: TaskContext) => Promise<void>,
): string {
  const { faults, core } = context;
  const plan: TaskPlan = { durationFactor: faults.taskSlow ? core.faults.slowFactor : 1 };
  if (faults.taskFail) plan.failure = core.faults.failText;
  const lockFault = faults.taskLockTimeout ? workerLockFault(context, type, id) : undefined;
  if (lockFault !== undefined) plan.lockFault = lockFault;
  return core.tasks.start({ node, type, id, user: context.identity.tokenId, plan }, work).upid;
}

/**
 * The taskLockTimeout fault: the first lock the worker takes times out, as another holder would
 * make it. Disk allocation takes the storage's lock (pve-storage vdisk_alloc →
 * cluster_lock_storage; disks.ts claims the fault there), and so does imgdel (vdisk_free); the
 * other qm workers take the VM's config flock. Workers that take no lock (download, imgcopy)
 * are left alone.
 */
function workerLockFault(context: RouteContext, type: string, id: string): TaskPlan["lockFault"] {
  const storage = type === "imgdel" ? context.core.state.storage(text(context, "storage") ?? "") : undefined;
  if (storage !== undefined) return { log: storageLockLog(storage), error: storageLockError(storage) };
  if (!/^\d+$/.test(id) || !type.startsWith("qm")) return undefined;
  return { log: [FLOCK_WAIT], error: vmLockRequest(Number(id), 10_000).timeoutMessage };
}
/** `background_delay` / `delay`: waits up to `seconds` and returns the task if it stopped by then. */
export async function waitBriefly(core: EmulatorCore, node: string, upid: string, seconds: number): Promise<TaskRecord | undefined> {
  const deadline = Date.now() + seconds * 1000 * core.timeScale;
  while (Date.now() < deadline) {
    const task = core.tasks.find(node, upid);
    if (task?.status === "stopped") return task;
    await Bun.sleep(20);
  }
  return undefined;
}
