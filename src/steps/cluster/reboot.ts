// Rebooting a node over its SSH connection and waiting until it is back, running a new boot.
// "Back" is decided by the node's boot identity, not by SSH answering: right after
// `systemctl reboot` the old sshd may still accept a command.
import type { Host } from "../../inventory/types.ts";
import type { ActContext } from "../observed.ts";
import type { ClusterRun } from "./context.ts";

/** The kernel's boot id and PID 1's start time: a VM's reboot changes the first, a container's the second. */
const BOOT_IDENTITY = "echo \"$(cat /proc/sys/kernel/random/boot_id) $(cut -d' ' -f22 /proc/1/stat)\"";

export interface RebootWait {
  timeoutMs: number;
  pollMs: number;
}

async function bootIdentity(run: ClusterRun, host: Host): Promise<string> {
  const result = await run.ssh(host).exec(BOOT_IDENTITY, { description: "read the boot identity", timeoutMs: 15_000 });
  if (result.code !== 0 || result.stdout.trim() === "") throw new Error(`${host.name}: could not read the boot identity (exit ${result.code})`);
  return result.stdout.trim();
}

/** Reboots `host` and returns once it runs a new boot and answers over SSH; `why` goes into the progress line. */
export async function rebootAndWait(run: ClusterRun, host: Host, ctx: ActContext, why: string, wait: RebootWait): Promise<void> {
  const before = await bootIdentity(run, host);
  ctx.report(`rebooting (${why})`);
  try {
    await run.ssh(host).exec(run.os.reboot(), { description: "reboot", timeoutMs: 30_000 });
  } catch {
    // The connection may end before the command's exit status arrives: the reboot is checked below.
  }
  const started = Date.now();
  for (;;) {
    ctx.signal.throwIfAborted();
    const waited = Date.now() - started;
    if (waited > wait.timeoutMs) {
      throw new Error(`${host.name}: not back ${Math.round(waited / 1000)} s after the reboot (${why}); look at its console`);
    }
    ctx.report(`waiting for the reboot (${Math.round(waited / 1000)} s)`);
    try {
      if ((await bootIdentity(run, host)) !== before) return;
    } catch {
      // Down or still coming up: the pool reconnects on the next command.
    }
    await Bun.sleep(wait.pollMs);
  }
}
