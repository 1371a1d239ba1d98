import type { DestroyResult } from "../../plan/destroy.ts";
import { formatChange } from "../../steps/observed.ts";
import { counted } from "../../ui/words.ts";
import { EXIT_ERROR, EXIT_OK, type Command } from "../command.ts";
import { forceUnlockOption, withInfraSession } from "../session.ts";
import { ask, canAsk, yesOption } from "../confirm.ts";
import { interruptible } from "../interrupt.ts";
import type { Output, Stdin } from "../output.ts";

async function confirmed(out: Output, stdin: Stdin, cluster: string, what: string, signal: AbortSignal): Promise<boolean> {
  return (await ask(out, stdin, `This destroys ${what}.\nType the cluster name (${cluster}) to go on: `, signal)) === cluster;
}

export const destroy: Command = {
  name: "destroy",
  summary: "delete the VMs and seed ISOs of this cluster",
  operands: "FILE",
  arity: [1, 1],
  options: [
    yesOption,
    forceUnlockOption,
  ],
  description: [
    "Deletes only what carries this cluster's mark: VMs tagged both `starbase` and",
    "`starbase-<name>` (running ones are stopped first; disks go with them: purge=1,",
    "destroy-unreferenced-disks=1) and the seed ISOs starbase_<name>_<host>_<hash>.iso (not one",
    "that a remaining VM uses). Every VM is checked first (protection, a task's lock, its tags):",
    "if any would refuse, nothing is touched and each is named.",
    "The downloaded images stay (other clusters may use them; delete them in Proxmox if not).",
    "On a terminal it lists what goes and asks for the cluster name; elsewhere --yes is required.",
    "JSON: the engine's events, then {type: \"destroy\", ok, steps: [{id, kind, changes, error?}]}.",
    "",
    "Exit codes: 0 destroyed (or nothing to destroy), 1 error, refused or not confirmed, 64 usage error.",
  ].join("\n"),
  async run(ctx) {
    const { args, out, stdin } = ctx;
    const yes = args.options.get("yes") === true;
    if (!yes && !canAsk(out, stdin)) {
      out.error("destroy deletes VMs: pass --yes to confirm (not on a terminal, so it cannot ask)");
      return EXIT_ERROR;
    }
    return interruptible(out, (controller) => withInfraSession(ctx, args.positionals[0]!, "destroy", async (session, sink) => {
      const { destroyInfra } = await import("../../plan/destroy.ts");
      const cluster = session.inventory.spec.name;
      const result = await destroyInfra(session, {
        forceUnlock: args.options.get("force-unlock") === true,
        controller,
        confirm: async ({ removals, vms, seedIsos }) => {
          out.message(removals.map((c) => `  ${formatChange(c)}`).join("\n"));
          return yes || confirmed(out, stdin, cluster, `${counted(vms, "VM")} and ${counted(seedIsos, "seed ISO")} of cluster ${cluster}`, controller.signal);
        },
      }, sink);
      return showDestroyed(out, cluster, `${session.inventory.spec.proxmox.storage.image}:import`, result);
    }));
  },
};

function showDestroyed(out: Output, cluster: string, images: string, result: DestroyResult): number {
  switch (result.outcome) {
    case "nothing-to-destroy":
      out.result(`Nothing to destroy: no VM or seed ISO of cluster ${cluster} in Proxmox. Images in ${images} are kept.\n`);
      out.event({ type: "destroy", ok: true, steps: [] });
      return EXIT_OK;
    case "refused":
      for (const refusal of result.refusals) out.error(refusal);
      out.error(`nothing destroyed: ${counted(result.refusals.length, "VM")} of cluster ${cluster} cannot go as it is`);
      return EXIT_ERROR;
    case "not-confirmed":
      out.error("not confirmed: nothing destroyed");
      return EXIT_ERROR;
    case "not-locked":
      return EXIT_ERROR;
    case "destroyed": {
      out.event({ type: "destroy", ok: result.ok, steps: result.steps });
      const done = result.removed.map((c) => `  ${formatChange(c)}`).join("\n");
      out.result(`Destroyed:\n${done}\nImages in ${images} are kept (shared; delete them in Proxmox when no cluster needs them).\n`);
      return result.ok ? EXIT_OK : EXIT_ERROR;
    }
  }
}
