import { formatGraph, graphFormats, isGraphFormat } from "../../graph/format.ts";
import { stepJson } from "../../graph/format/json.ts";
import { topologicalOrder } from "../../graph/order.ts";
import { buildSteps, phases } from "../../plan/graph.ts";
import { EXIT_ERROR, EXIT_OK, type Command } from "../command.ts";
import { loadReportedCluster } from "../load-cluster.ts";

export const graph: Command = {
  name: "graph",
  summary: "print the step graph: which steps apply runs and what each waits for",
  operands: "FILE",
  arity: [1, 1],
  options: [
    { name: "format", value: "FORMAT", choices: graphFormats, description: "text (default; json with --output json), dot (Graphviz), mermaid or json" },
    { name: "phase", value: "PHASE", choices: phases, description: "only the steps of this phase (default all)" },
  ],
  description: [
    "Steps come in dependency order; among steps that are ready together, declaration order.",
    "  starbase graph cluster.yaml --format dot | dot -Tsvg > steps.svg",
    "--format json prints {steps: [{id, kind, host?, pveNode?, needs, limits?}]}; with --output json",
    "the graph is one object {type: \"graph\", steps} (or {type: \"graph\", format, graph} for the",
    "other formats).",
    "",
    "Exit codes: 0 printed, 1 error (invalid spec, unreadable file), 64 usage error.",
  ].join("\n"),
  async run({ args, out, env }) {
    const { inventory } = await loadReportedCluster(out, args.positionals[0]!, env);
    if (inventory === undefined) return EXIT_ERROR;
    const phase = phases.find((p) => p === args.options.get("phase")) ?? "all";
    const steps = buildSteps(inventory, { phase });
    const requested = args.options.get("format");
    const fallback = out.json ? "json" : "text";
    const format = typeof requested === "string" && isGraphFormat(requested) ? requested : fallback;
    const text = formatGraph(steps, format);
    out.result(text);
    if (format === "json") out.event({ type: "graph", steps: topologicalOrder(steps).map(stepJson) });
    else out.event({ type: "graph", format, graph: text });
    return EXIT_OK;
  },
};
