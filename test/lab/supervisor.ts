// One lab host's supervisor: boots the host's systemd-nspawn container and boots it again
// whenever the host reboots (nspawn exits 133 then), activating the pending transactional-update
// snapshot in between, as MicroOS switches to the new default snapshot on reboot. Any other exit
// (poweroff, a crash, SIGTERM from `lab down`) ends the supervisor.
//
//   bun test/lab/supervisor.ts DIR HOST     (started detached by lab.ts, PID in the lab state)
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { enterHostCgroup } from "./cgroups.ts";
import { activatePending } from "./standins/packages.ts";
import { machineName, readLabState } from "./state.ts";

/** systemd-nspawn's exit status when the container asked for a reboot. */
const REBOOT_EXIT = 133;

/** The container's PID 1 as the machine sees it: the child of nspawn whose PID in its own namespace is 1. */
function containerInit(nspawnPid: number): number | undefined {
  const childrenFile = `/proc/${nspawnPid}/task/${nspawnPid}/children`;
  if (!existsSync(childrenFile)) return undefined;
  for (const pid of readFileSync(childrenFile, "utf8").trim().split(/\s+/).filter(Boolean)) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      const nspid = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
      if (nspid !== undefined && nspid.length > 1 && nspid.at(-1) === "1") return Number(pid);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

async function supervise(dir: string, name: string): Promise<void> {
  const state = readLabState(dir);
  const host = state.hosts.find((h) => h.name === name);
  if (host === undefined) throw new Error(`no host ${name} in ${dir}`);
  writeFileSync(join(host.dir, "supervisor.pid"), `${process.pid}\n`);
  enterHostCgroup(machineName(host));
  const log = (line: string) => appendFileSync(join(host.dir, "supervisor.log"), `${new Date().toISOString()} ${line}\n`);
  let stopping = false;
  let child: ReturnType<typeof Bun.spawn> | undefined;
  const stop = () => {
    stopping = true;
    // SIGTERM to nspawn = an orderly poweroff of the container.
    child?.kill("SIGTERM");
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  for (let boot = 1; !stopping; boot++) {
    if (boot > 1) {
      for (const change of activatePending(host.root, state.labSrc)) log(`snapshot: ${change}`);
    }
    const consoleLog = openSync(join(host.dir, "console.log"), "a");
    child = Bun.spawn(host.nspawn, { stdin: "ignore", stdout: consoleLog, stderr: consoleLog });
    closeSync(consoleLog);
    writeFileSync(join(host.dir, "nspawn.pid"), `${child.pid}\n`);
    log(`boot ${boot}: nspawn ${child.pid}`);
    let init: number | undefined;
    while (child.exitCode === null && init === undefined) {
      init = containerInit(child.pid);
      if (init === undefined) await Bun.sleep(20);
    }
    if (init !== undefined) {
      writeFileSync(join(host.dir, "init.pid"), `${init}\n`);
      writeFileSync(join(host.dir, "boot"), `${boot}\n`);
    }
    const code = await child.exited;
    rmSync(join(host.dir, "init.pid"), { force: true });
    log(`boot ${boot}: nspawn exited ${code}`);
    if (code !== REBOOT_EXIT) break;
  }
  log("supervisor ends");
}

if (import.meta.main) {
  const [dir, name] = process.argv.slice(2);
  if (dir === undefined || name === undefined) {
    console.error("usage: bun test/lab/supervisor.ts DIR HOST");
    process.exit(64);
  }
  await supervise(dir, name);
}
