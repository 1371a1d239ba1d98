// DELETE /nodes/{node}/qemu/{vmid}: destroy_vm of qemu-server.
import { handlerError } from "../errors.ts";
import { VOLUME_ID_RE } from "../formats.ts";
import type { VmRecord } from "../state.ts";
import { DRIVE_KEY_RE, parseDrive } from "../vm-config.ts";
import { type RouteContext, checkLock, configPath, flag, nodeName, refuseSkiplock, startTask, vmid, vmLock, vmOnNode } from "./context.ts";

function earlyChecks(vm: VmRecord): void {
  if (vm.config.protection === "1") throw handlerError(`can't remove VM ${vm.vmid} - protection mode enabled`);
  if (vm.running) throw handlerError(`VM ${vm.vmid} is running - destroy failed`);
}

/** Volumes the config refers to; only those owned by the VM (vm-<vmid>-…) are freed. */
function referencedVolumes(vm: VmRecord): string[] {
  return Object.entries(vm.config)
    .filter(([key]) => DRIVE_KEY_RE.test(key) || /^unused\d+$/.test(key))
    .map(([key, value]) => (/^unused\d+$/.test(key) ? value : parseDrive(value).file))
    .filter((file) => VOLUME_ID_RE.test(file));
}

export function destroyVm(context: RouteContext): string {
  const { core } = context;
  const node = nodeName(context);
  const id = vmid(context);
  refuseSkiplock(context);
  const unreferenced = flag(context, "destroy-unreferenced-disks");
  earlyChecks(vmOnNode(core, node, id));
  const lock = vmLock(context, id, 10_000);
  return startTask(context, node, "qmdestroy", String(id), async (task) => {
    await core.locks.withLock(lock, async () => {
      const vm = core.state.vm(id);
      if (!vm || vm.node !== node) throw new Error(`Configuration file '${configPath(node, id)}' does not exist`);
      earlyChecks(vm);
      checkLock(vm);
      vm.config = { ...vm.config, lock: "destroyed" };
      core.state.changed();
      await task.step(0.5);
      const volids = new Set(referencedVolumes(vm));
      const owned = core.state.volumes.filter(
        (volume) => (volume.node === node || volume.node === null) && volume.vmid === id && (unreferenced || volids.has(volume.volid)),
      );
      for (const volume of owned) {
        core.state.removeVolume(volume);
        task.log(`Removing image: 100% complete...done.`);
      }
      await task.step(0.5);
      core.state.vms.delete(id);
      core.state.changed();
    });
  });
}
