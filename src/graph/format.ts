import { formatDot } from "./format/dot.ts";
import { formatJson } from "./format/json.ts";
import { formatMermaid } from "./format/mermaid.ts";
import { formatText } from "./format/text.ts";
import { topologicalOrder } from "./order.ts";
import type { StepNode } from "./types.ts";

export const graphFormats = ["text", "dot", "mermaid", "json"] as const;
export type GraphFormat = (typeof graphFormats)[number];

const formatters: Record<GraphFormat, (steps: readonly StepNode[]) => string> = {
  text: formatText,
  dot: formatDot,
  mermaid: formatMermaid,
  json: formatJson,
};

export function isGraphFormat(s: string): s is GraphFormat {
  return (graphFormats as readonly string[]).includes(s);
}

/** The steps in topological order, written in the chosen format. Throws GraphError on a non-DAG. */
export function formatGraph(steps: readonly StepNode[], format: GraphFormat): string {
  return formatters[format](topologicalOrder(steps));
}
