// Worker tasks: UPIDs (pve-common PVE::UPID), status and log lines, simulated durations.
import { errorText } from "./errors.ts";
import type { EmulatorState, TaskRecord } from "./state.ts";

const UPID_RE =
  /^UPID:([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s/]+):([^:\s/]*):([^:\s/]+):$/;

export interface DecodedUpid {
  node: string;
  pid: number;
  pstart: number;
  starttime: number;
  type: string;
  id: string;
  user: string;
}

const hex8 = (value: number): string => value.toString(16).toUpperCase().padStart(8, "0");

function encodeUpid(task: DecodedUpid): string {
  return `UPID:${task.node}:${hex8(task.pid)}:${hex8(task.pstart)}:${hex8(task.starttime)}:${task.type}:${task.id}:${task.user}:`;
}

export function decodeUpid(upid: string): DecodedUpid | undefined {
  const match = UPID_RE.exec(upid);
  if (!match) return undefined;
  return {
    node: match[1] ?? "",
    pid: parseInt(match[3] ?? "0", 16),
    pstart: parseInt(match[4] ?? "0", 16),
    starttime: parseInt(match[5] ?? "0", 16),
    type: match[6] ?? "",
    id: match[7] ?? "",
    user: match[8] ?? "",
  };
}

/** Decided when the request that starts the task arrives (fault injection). */
export interface TaskPlan {
  durationFactor: number;
  failure?: string;
  /**
   * The worker's first lock times out (taskLockTimeout fault). A worker that takes a storage
   * lock claims it (takeLockFault) and fails there; otherwise it surfaces at the first step with
   * these log lines and this error.
   */
  lockFault?: { log: string[]; error: string };
}

export interface TaskContext {
  readonly upid: string;
  log(line: string): void;
  warn(line: string): void;
  /** Lets `fraction` of the task's duration pass; an injected failure surfaces here. */
  step(fraction: number): Promise<void>;
  /** True once when the worker's next lock is to time out (the taskLockTimeout fault). */
  takeLockFault(): boolean;
}

export interface TaskStart {
  node: string;
  type: string;
  id: string;
  user: string;
  plan: TaskPlan;
}

export class TaskManager {
  private nextPid = 0x1000 + Math.floor(Math.random() * 0x4000);
  private readonly bootTime = Date.now() - 3_600_000;
  private readonly running = new Set<Promise<void>>();

  constructor(
    private readonly state: EmulatorState,
    private readonly durationOf: (type: string) => number,
  ) {}

  start(spec: TaskStart, work: (task: TaskContext) => Promise<void>): TaskRecord {
    const pid = this.nextPid++;
    const decoded: DecodedUpid = {
      node: spec.node,
      pid,
      pstart: Math.floor((Date.now() - this.bootTime) / 10),
      starttime: Math.floor(Date.now() / 1000),
      type: spec.type,
      id: spec.id,
      user: spec.user,
    };
    const task: TaskRecord = { ...decoded, upid: encodeUpid(decoded), status: "running", log: [] };
    this.state.tasks.push(task);
    this.state.changed();

    const duration = this.durationOf(spec.type) * spec.plan.durationFactor;
    let warnings = 0;
    let failure = spec.plan.failure;
    let lockFault = spec.plan.lockFault;
    const context: TaskContext = {
      upid: task.upid,
      log: (line) => {
        task.log.push(line);
        this.state.changed();
      },
      warn: (line) => {
        warnings++;
        context.log(`WARN: ${line}`);
      },
      step: async (fraction) => {
        await Bun.sleep(Math.max(0, duration * fraction));
        if (failure !== undefined) {
          const text = failure;
          failure = undefined;
          throw new Error(text);
        }
        if (lockFault !== undefined) {
          const { log, error } = lockFault;
          lockFault = undefined;
          for (const line of log) context.log(line);
          throw new Error(error);
        }
      },
      takeLockFault: () => {
        const pending = lockFault !== undefined;
        lockFault = undefined;
        return pending;
      },
    };

    const finished = (async () => {
      try {
        await work(context);
        task.exitstatus = warnings > 0 ? `WARNINGS: ${warnings}` : "OK";
        task.log.push(warnings > 0 ? `TASK WARNINGS: ${warnings}` : "TASK OK");
      } catch (error) {
        const text = errorText(error);
        task.exitstatus = text;
        task.log.push(`TASK ERROR: ${text}`);
      }
      task.status = "stopped";
      task.endtime = Math.floor(Date.now() / 1000);
      this.state.changed();
    })();
    this.running.add(finished);
    void finished.finally(() => this.running.delete(finished));
    return task;
  }

  /** The task as seen from `node`: task logs are node-local. */
  find(node: string, upid: string): TaskRecord | undefined {
    return this.state.tasks.find((task) => task.upid === upid && task.node === node);
  }

  /** Resolves once no task is running. */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}
