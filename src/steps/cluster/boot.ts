// boot: the VM is up as its seed left it. SSH answers with the host key derived from
// ssh.hostKeySecret (the pool refuses any other key), cloud-init has finished its first boot
// without errors, and the reboot a transactional package install needs has happened, so the
// seed's packages are active. A host still booting is waited for, with a progress line that
// says what for, up to the session's boot timeout; a host that fails stops only its own branch.
import type { Host } from "../../inventory/types.ts";
import { CLOUD_INIT_OUTPUT_LOG, cloudInitLogTailCommand, cloudInitStatusCommand, cloudInitWaitCommand, type CloudInitStatus, parseCloudInitStatus } from "../../nodeos/cloud-init.ts";
import type { NodeFacts } from "../../nodeos/index.ts";
import { SshError } from "../../ssh/errors.ts";
import { type ObserveContext, type StepFamily, stepHost } from "../family.ts";
import { type Change, unchanged } from "../observed.ts";
import type { ClusterRun } from "./context.ts";
import { rebootAndWait } from "./reboot.ts";

/** How long boot waits for a host: SSH to answer, cloud-init to finish, a reboot to come back. */
export const DEFAULT_BOOT_WAIT_MS = 300_000;
const LOG_TAIL_LINES = 15;
const PROGRESS_EVERY_MS = 1000;

/** The host cannot be brought up as it is: only a person can help (not retried). */
export class BootError extends Error {
  override name = "BootError";
  readonly retryable = false;
  constructor(host: string, problem: string, todo: string) {
    super(`${host}: ${problem}\n${todo}`);
  }
}

/** Runs `work`, reporting "<what> (N s)" every second once it has taken a second. */
async function whileWaiting<T>(report: ((message: string) => void) | undefined, what: string, work: () => Promise<T>): Promise<T> {
  const started = Date.now();
  const timer = report === undefined ? undefined : setInterval(() => report(`${what} (${Math.round((Date.now() - started) / 1000)} s)`), PROGRESS_EVERY_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}

function seconds(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000} min` : `${Math.round(ms / 1000)} s`;
}

/** The facts, once SSH answers; a host that never does is a BootError that says so. */
async function reachable(run: ClusterRun, host: Host, ctx: ObserveContext, waitMs: number): Promise<NodeFacts> {
  try {
    return await whileWaiting(ctx.report, `${host.name}: waiting for SSH`, () => run.facts(host, ctx));
  } catch (err) {
    if (err instanceof SshError && (err.kind === "connect" || err.kind === "jump") && err.retryable) {
      throw new BootError(host.name, `does not answer on SSH at ${host.ip}:22 within ${seconds(waitMs)}: ${err.detail}`,
        "the host does not answer on port 22: check that its VM runs and that this machine (or ssh.jumpHost) reaches it");
    }
    throw err;
  }
}

async function cloudInitStatus(run: ClusterRun, host: Host, command: string, timeoutMs?: number): Promise<CloudInitStatus> {
  const result = await run.ssh(host).exec(command, { description: "cloud-init status", ...(timeoutMs !== undefined && { timeoutMs }) });
  const status = parseCloudInitStatus(result.stdout);
  if (status !== undefined) return status;
  if (result.code === 124) return { state: "running", errors: [] };
  throw new BootError(host.name, `cloud-init status gave no status (exit ${result.code}): ${(result.stderr || result.stdout).trim().slice(0, 200)}`,
    "the image must have cloud-init (MicroOS's OpenStack-Cloud image does)");
}

/** cloud-init reported errors: the host failed its first boot. The message shows its errors and the log's tail. */
async function cloudInitFailed(run: ClusterRun, host: Host, status: CloudInitStatus): Promise<BootError> {
  const tail = await run.ssh(host).exec(cloudInitLogTailCommand(LOG_TAIL_LINES), { description: `tail ${CLOUD_INIT_OUTPUT_LOG}` }).then((r) => r.stdout.trimEnd(), () => "");
  const errors = status.errors.length > 0 ? `: ${status.errors.join("; ")}` : "";
  const log = tail === "" ? "" : `\nlast lines of ${CLOUD_INIT_OUTPUT_LOG}:\n${tail.split("\n").map((line) => `  ${line}`).join("\n")}`;
  return new BootError(host.name, `cloud-init failed on the first boot${errors}${log}`,
    "fix what the log names (the seed's user-data, the image), then re-create the VM; starbase does not configure a host whose first boot failed");
}

function inactivePackages(host: Host, facts: NodeFacts): string[] {
  return host.packages.filter((name) => (facts.packages.get(name) ?? null) === null);
}

export function bootFamily(waitMs: number = DEFAULT_BOOT_WAIT_MS): StepFamily<ClusterRun> {
  return {
    kinds: ["boot"],
    async observe(run, step, ctx) {
      const host = stepHost(run.inv, step);
      const facts = await reachable(run, host, ctx, waitMs);
      const status = await cloudInitStatus(run, host, cloudInitStatusCommand());
      if (status.state === "error") throw await cloudInitFailed(run, host, status);
      const subject = `host ${host.name}`;
      const changes: Change[] = [unchanged(`${subject} SSH`, "answers with the host key derived from ssh.hostKeySecret")];
      const booting = status.state === "running" || status.state === "not-run";
      changes.push(booting
        ? { op: "~", subject: `${subject} cloud-init`, from: "running", to: "finished", reason: "its first boot is still running: apply waits for it" }
        : unchanged(`${subject} cloud-init`, `finished (${status.state})`));
      const inactive = inactivePackages(host, facts);
      if (facts.rebootNeeded) {
        const which = inactive.length > 0 ? `packages ${inactive.join(", ")} become active with it` : "an installed update becomes active with it";
        changes.push({ op: "~", subject: `${subject} reboot`, reason: `a transactional update waits for a reboot; ${which}` });
      } else if (inactive.length > 0 && !booting) {
        throw new BootError(host.name, `packages ${inactive.join(", ")} are not installed and no update waits for a reboot`,
          `cloud-init's package install failed: see ${CLOUD_INIT_OUTPUT_LOG} on the host`);
      } else if (!booting) changes.push(unchanged(`${subject} packages`, `${host.packages.join(", ")} active`));
      if (!booting && !facts.rebootNeeded) return { changes };
      return {
        changes,
        async apply(act) {
          if (booting) {
            const waited = await whileWaiting(act.report, `${host.name}: waiting for cloud-init`,
              () => cloudInitStatus(run, host, cloudInitWaitCommand(waitMs / 1000), waitMs + 10_000));
            if (waited.state === "error") throw await cloudInitFailed(run, host, waited);
            if (waited.state === "running" || waited.state === "not-run") {
              throw new BootError(host.name, `cloud-init did not finish within ${seconds(waitMs)}`, `see ${CLOUD_INIT_OUTPUT_LOG} on the host`);
            }
          }
          let now = await run.facts(host, { fresh: true });
          if (now.rebootNeeded) {
            await rebootAndWait(run, host, act, "a transactional update waits for it", { timeoutMs: waitMs, pollMs: PROGRESS_EVERY_MS });
            now = await run.facts(host, { fresh: true });
          }
          const still = inactivePackages(host, now);
          if (still.length > 0) {
            throw new BootError(host.name, `packages ${still.join(", ")} are not active after the reboot`, `see ${CLOUD_INIT_OUTPUT_LOG} and transactional-update's log on the host`);
          }
        },
      };
    },
  };
}
