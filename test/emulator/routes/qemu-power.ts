// POST …/status/start|stop|shutdown|reboot and GET …/status/current.
import { vmLockRequest } from "../locks.ts";
import { VOLUME_ID_RE } from "../formats.ts";
import type { TaskContext } from "../tasks.ts";
import { DRIVE_KEY_RE, isCloudinitVolume, parseDrive } from "../vm-config.ts";
import { vmSummary } from "./vm-summary.ts";
import { parsePropertyString } from "../validate.ts";
import { namedPropertyFormats } from "../formats.ts";
import type { VmRecord } from "../state.ts";
import { applyPending } from "../pending.ts";
import {
  type EmulatorCore,
  type RouteContext,
  checkLock,
  configPath,
  nodeName,
  startTask,
  vmid,
  vmLock,
  vmOnNode,
} from "./context.ts";

let nextGuestPid = 20_000;

function reloadOnNode(core: EmulatorCore, node: string, id: number): VmRecord {
  const vm = core.state.vm(id);
  if (!vm || vm.node !== node) throw new Error(`Configuration file '${configPath(node, id)}' does not exist`);
  return vm;
}

/** What vm_start checks before QEMU runs: cloud-init snippets and every attached volume exist. */
function assertVolumesPresent(core: EmulatorCore, vm: VmRecord): void {
  const cicustom = vm.config.cicustom;
  if (cicustom) {
    const parts = parsePropertyString(namedPropertyFormats["pve-qm-cicustom"] ?? {}, cicustom, "cicustom");
    for (const volid of Object.values(parts)) {
      if (!core.state.volume(vm.node, volid)) throw new Error(`can't find file '${volid}'`);
    }
  }
  for (const key of Object.keys(vm.config).filter((option) => DRIVE_KEY_RE.test(option))) {
    const file = parseDrive(vm.config[key] ?? "").file;
    if (VOLUME_ID_RE.test(file) && !core.state.volume(vm.node, file)) throw new Error(`volume '${file}' does not exist`);
  }
}

/** vm_start under the config lock, as run by qmstart workers and create's autostart. */
export async function startVm(core: EmulatorCore, node: string, id: number, task: TaskContext, forceLockTimeout = false): Promise<void> {
  await core.locks.withLock(vmLockRequest(id, 10_000, forceLockTimeout), async () => {
    const vm = reloadOnNode(core, node, id);
    if (vm.config.template === "1") throw new Error("you can't start a vm if it's a template");
    checkLock(vm);
    if (vm.running) throw new Error(`VM ${id} already running`);
    // vm_start_nolock: pending changes take effect when QEMU starts.
    applyPending(vm);
    assertVolumesPresent(core, vm);
    if (Object.values(vm.config).some((value) => isCloudinitVolume(parseDrive(value).file))) task.log("generating cloud-init ISO");
    await task.step(1);
    vm.running = true;
    vm.pid = nextGuestPid++;
    vm.startedAt = Date.now();
    core.state.changed();
  });
}

function stopped(core: EmulatorCore, vm: VmRecord): void {
  vm.running = false;
  delete vm.pid;
  delete vm.startedAt;
  core.state.changed();
}

export function startRoute(context: RouteContext): string {
  const node = nodeName(context);
  const id = vmid(context);
  vmOnNode(context.core, node, id);
  const forced = vmLock(context, id, 10_000).forceTimeout;
  return startTask(context, node, "qmstart", String(id), (task) => startVm(context.core, node, id, task, forced));
}

type PowerAction = "stop" | "shutdown" | "reboot";

export function powerRoute(action: PowerAction) {
  return (context: RouteContext): string => {
    const { core } = context;
    const node = nodeName(context);
    const id = vmid(context);
    vmOnNode(core, node, id);
    const lock = vmLock(context, id, 10_000);
    const type = { stop: "qmstop", shutdown: "qmshutdown", reboot: "qmreboot" }[action];
    return startTask(context, node, type, String(id), async (task) => {
      await core.locks.withLock(lock, async () => {
        const vm = reloadOnNode(core, node, id);
        checkLock(vm);
        if (action === "reboot" && !vm.running) throw new Error(`VM ${id} not running`);
        await task.step(1);
        // vm_reboot stops QEMU and qmeventd starts it again with `qm start`: pending changes take effect.
        if (action === "reboot") {
          applyPending(vm);
          vm.startedAt = Date.now();
          core.state.changed();
        } else {
          stopped(core, vm);
        }
      });
    });
  };
}

export function currentStatus(context: RouteContext): Record<string, unknown> {
  return vmSummary(vmOnNode(context.core, nodeName(context), vmid(context)));
}
