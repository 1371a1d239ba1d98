import { formatGraph } from "../../graph/format.ts";
import { stepJson } from "../../graph/format/json.ts";
import { buildSteps, phases } from "../../plan/graph.ts";
import { counted } from "../../ui/words.ts";
import { EXIT_ERROR, EXIT_OK, type Command } from "../command.ts";
import { loadReportedCluster } from "../load-cluster.ts";
import { formatTable } from "../table.ts";

export const plan: Command = {
  name: "plan",
  summary: "show what apply would do",
  operands: "FILE",
  arity: [1, 1],
  options: [
    { name: "offline", description: "assume nothing exists yet and touch no network" },
    { name: "phase", value: "PHASE", choices: phases, description: "only the steps of this phase (default all)" },
  ],
  description: [
    "Without --offline, every step observes and acts on nothing: the infra steps ask Proxmox, the",
    "cluster steps (boot onward) look at the nodes over SSH (--phase cluster needs no Proxmox",
    "credentials). Each prints what it would create (+), change (~), remove (-) or leave alone (=).",
    "A cluster step whose VM apply would still create or start shows \"known after vm:<host>\"; no",
    "connection is opened to a VM that is not there. A host that does not answer on SSH within",
    "10 s is an error of its boot step. JSON: {type: \"plan\", offline: false, phase, …}.",
    "Each VM of the cluster has its config read (one request per VM), so changes made outside",
    "starbase, e.g. a NIC edited in the web UI, show too.",
    "The last line counts steps, as apply does: \"Plan (infra): 25 steps: 6 to change, 19 unchanged\".",
    "",
    "With --offline nothing is asked of Proxmox or the nodes: it prints the hosts (Proxmox node,",
    "VMID, IP, reboot window) and the steps apply would run, with what each step waits for. Every",
    "step is pending. It is a preview, not a comparison with reality, so it exits 0 when the",
    "spec is valid; only a live plan can say \"changes pending\" (exit 2).",
    "JSON: one object {type: \"plan\", offline: true, phase, hosts: [{name, role, pveNode, vmid, ip,",
    "rebootWindow: {start, end}}], steps: [{id, kind, host?, pveNode?, needs, limits?}]}.",
    "",
    "Exit codes: 0 no change (--offline: valid), 2 changes pending (live only), 1 error (invalid spec,",
    "unreadable file, Proxmox unreachable, a step that could not observe), 64 usage error.",
  ].join("\n"),
  async run(ctx) {
    const { args, out, env } = ctx;
    if (args.options.get("offline") !== true) {
      const { planLive } = await import("./plan-live.ts");
      return planLive(ctx);
    }
    const file = args.positionals[0]!;
    const { inventory } = await loadReportedCluster(out, file, env);
    if (inventory === undefined) return EXIT_ERROR;
    const phase = phases.find((p) => p === args.options.get("phase")) ?? "all";
    const steps = buildSteps(inventory, { phase });
    const hosts = inventory.hosts.map((h) => ({
      name: h.name,
      role: h.role,
      pveNode: h.pveNode,
      vmid: h.vmid,
      ip: h.ip,
      rebootWindow: { start: h.rebootWindow.start, end: h.rebootWindow.end },
    }));
    out.event({ type: "plan", offline: true, phase, hosts, steps: steps.map(stepJson) });

    const style = out.outStyle;
    const rows = hosts.map((h) => [h.name, h.role, h.pveNode, String(h.vmid), h.ip, `${h.rebootWindow.start}–${h.rebootWindow.end}`]);
    const table = formatTable(["NAME", "ROLE", "PVE NODE", "VMID", "IP", "REBOOT WINDOW"], rows, style.bold);
    const vmSteps = steps.filter((s) => s.kind === "vm").length;
    const summary = `Plan (offline, assumes nothing exists): ${counted(steps.length, "step")}, ${counted(vmSteps, "VM")} to create.`;
    out.result(`${style.bold("Hosts")}\n${table}\n${style.bold("Steps")}\n${formatGraph(steps, "text")}\n${style.yellow(summary)}\n`);
    return EXIT_OK;
  },
};
