// The README's spec reference, generated from spec-schema.json so that the two cannot drift.

import { resolveRef, type SchemaNode } from "./schema-ref.ts";

interface Row {
  field: string;
  type: string;
  default: string;
  description: string;
}

function isSecret(node: SchemaNode, root: SchemaNode): boolean {
  return node["$ref"] === "#/definitions/secretRef" || node === (root["definitions"] as SchemaNode)["secretRef"];
}

function integerType(node: SchemaNode): string {
  const min = node["minimum"];
  const max = node["maximum"];
  if (typeof min === "number" && typeof max === "number") return `integer ${min}–${max}`;
  if (typeof min === "number") return `integer ≥ ${min}`;
  return "integer";
}

function typeOf(raw: SchemaNode, root: SchemaNode): string {
  if (isSecret(raw, root)) return "secret";
  const node = resolveRef(raw, root);
  const choices = node["enum"];
  if (Array.isArray(choices)) return choices.map((choice) => `\`${String(choice)}\``).join(" \\| ");
  if (node["format"] === "ipv4") return "IPv4 address";
  switch (node["type"]) {
    case "integer":
      return integerType(node);
    case "boolean":
      return "boolean";
    case "string":
      return "string";
    case "object":
      return "mapping";
    case "array":
      return `list of ${plural(typeOf((node["items"] as SchemaNode | undefined) ?? {}, root))}`;
    default:
      return "any";
  }
}

/** "integer 0–23" → "integers 0–23", "IPv4 address" → "IPv4 addresses". */
function plural(type: string): string {
  return type.replace(/^(IPv4 address|integer|string|mapping|boolean|secret)\b/, (word) => (word.endsWith("s") ? `${word}es` : `${word}s`));
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\s*\n\s*/g, " ");
}

function defaultCell(node: SchemaNode, required: boolean, inherited: { value: unknown; from: string } | undefined): string {
  const fromParent = inherited?.value === undefined ? undefined : `\`${JSON.stringify(inherited.value)}\` when \`${inherited?.from}\` is absent`;
  if (required) return fromParent === undefined ? "*required*" : `${fromParent}; else *required*`;
  if ("default" in node) {
    const value = node["default"];
    if (typeof value === "object" && value !== null && !Array.isArray(value)) return "";
    return `\`${JSON.stringify(value)}\``;
  }
  return fromParent ?? "";
}

function collect(raw: SchemaNode, root: SchemaNode, path: string, required: boolean, inherited: { value: unknown; from: string } | undefined, rows: Row[]): void {
  const node = resolveRef(raw, root);
  rows.push({ field: `\`${path}\``, type: typeOf(raw, root), default: defaultCell(node, required, inherited), description: cell(String(node["description"] ?? "")) });
  if (isSecret(raw, root)) return;
  const target = node["type"] === "array" ? resolveRef((node["items"] as SchemaNode | undefined) ?? {}, root) : node;
  const properties = target["properties"] as Record<string, SchemaNode> | undefined;
  if (target["type"] !== "object" || properties === undefined) return;
  const childRequired = new Set((target["required"] as string[] | undefined) ?? []);
  const base = node["type"] === "array" ? `${path}[]` : path;
  const objectDefault = node["type"] === "object" ? node["default"] : undefined;
  for (const [key, child] of Object.entries(properties)) {
    const childInherited =
      typeof objectDefault === "object" && objectDefault !== null && key in objectDefault
        ? { value: (objectDefault as Record<string, unknown>)[key], from: path }
        : undefined;
    collect(child, root, `${base}.${key}`, childRequired.has(key), childInherited, rows);
  }
}

/** A Markdown reference of every field: dotted path, type, default and description. */
export function specReferenceMarkdown(schema: object): string {
  const root = schema as SchemaNode;
  const rows: Row[] = [];
  const required = new Set((root["required"] as string[] | undefined) ?? []);
  for (const [key, child] of Object.entries(root["properties"] as Record<string, SchemaNode>)) {
    collect(child, root, key, required.has(key), undefined, rows);
  }
  const secret = (root["definitions"] as Record<string, SchemaNode>)["secretRef"];
  const lines = [
    "Generated from `spec-schema.json` by `bun scripts/write-reference.ts`; edit the schema, not this table.",
    "`list[]` in a path stands for each item of the list.",
    "",
    `**secret**: ${cell(String(secret?.["description"] ?? ""))}`,
    "",
    "| Field | Type | Default | Description |",
    "|---|---|---|---|",
    ...rows.map((row) => `| ${row.field} | ${row.type} | ${row.default} | ${row.description} |`),
  ];
  return `${lines.join("\n")}\n`;
}
