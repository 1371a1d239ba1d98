// Reads the event shapes of docs/json-events.md (its ```shape blocks, TypeScript-like object
// types) and checks JSON objects against them with ajv, so that the page and the code cannot
// drift apart.

import Ajv, { type ValidateFunction } from "ajv";

type Shape =
  | { kind: "object"; fields: Field[] }
  | { kind: "array"; of: Shape }
  | { kind: "union"; of: Shape[] }
  | { kind: "literal"; value: string | number | boolean }
  | { kind: "primitive"; name: "string" | "number" | "integer" | "boolean" }
  | { kind: "named"; name: string };

type Field = { spread: string } | { key: string; optional: boolean; shape: Shape };

const TOKEN = /\s*(\.\.\.|"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|[A-Za-z_][\w-]*|[{}[\]():,?|])/y;

function tokenize(text: string): string[] {
  const tokens: string[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < text.trimEnd().length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(text);
    if (match === null) throw new Error(`shape: cannot read ${JSON.stringify(text.slice(at, at + 20))}`);
    tokens.push(match[1]!);
  }
  return tokens;
}

/** Recursive descent over: union := postfix ("|" postfix)*; postfix := primary ("[]")*. */
function parseShape(text: string): Shape {
  const tokens = tokenize(text);
  let i = 0;
  const peek = () => tokens[i];
  const take = (expected?: string): string => {
    const token = tokens[i++];
    if (token === undefined || (expected !== undefined && token !== expected)) {
      throw new Error(`shape: expected ${expected ?? "more"} at token ${i} of ${text}`);
    }
    return token;
  };
  const union = (): Shape => {
    const of = [postfix()];
    while (peek() === "|") {
      take("|");
      of.push(postfix());
    }
    return of.length === 1 ? of[0]! : { kind: "union", of };
  };
  const postfix = (): Shape => {
    let shape = primary();
    while (peek() === "[") {
      take("[");
      take("]");
      shape = { kind: "array", of: shape };
    }
    return shape;
  };
  const primary = (): Shape => {
    const token = take();
    if (token === "{") return object();
    if (token === "(") {
      const inner = union();
      take(")");
      return inner;
    }
    if (token.startsWith('"')) return { kind: "literal", value: JSON.parse(token) as string };
    if (/^-?\d/.test(token)) return { kind: "literal", value: Number(token) };
    if (token === "true" || token === "false") return { kind: "literal", value: token === "true" };
    if (token === "string" || token === "number" || token === "integer" || token === "boolean") return { kind: "primitive", name: token };
    if (/^[A-Z]/.test(token)) return { kind: "named", name: token };
    throw new Error(`shape: unknown type ${token} in ${text}`);
  };
  const object = (): Shape => {
    const fields: Field[] = [];
    while (peek() !== "}") {
      if (peek() === "...") {
        take("...");
        fields.push({ spread: take() });
      } else {
        const written = take();
        const key = written.startsWith('"') ? (JSON.parse(written) as string) : written;
        const optional = peek() === "?";
        if (optional) take("?");
        take(":");
        fields.push({ key, optional, shape: union() });
      }
      if (peek() === ",") take(",");
      else if (peek() !== "}") throw new Error(`shape: expected , or } after a field in ${text}`);
    }
    take("}");
    return { kind: "object", fields };
  };
  const shape = union();
  if (i !== tokens.length) throw new Error(`shape: unexpected ${tokens[i]} in ${text}`);
  return shape;
}

type Schema = Record<string, unknown>;

function toSchema(shape: Shape, named: Map<string, Shape>): Schema {
  switch (shape.kind) {
    case "primitive":
      return { type: shape.name };
    case "literal":
      return { const: shape.value };
    case "array":
      return { type: "array", items: toSchema(shape.of, named) };
    case "union":
      return { anyOf: shape.of.map((s) => toSchema(s, named)) };
    case "named":
      return toSchema(resolve(shape.name, named), named);
    case "object": {
      const properties: Record<string, Schema> = {};
      const required: string[] = [];
      for (const field of flatten(shape, named)) {
        properties[field.key] = toSchema(field.shape, named);
        if (!field.optional) required.push(field.key);
      }
      return { type: "object", properties, required, additionalProperties: false };
    }
  }
}

function resolve(name: string, named: Map<string, Shape>): Shape {
  const shape = named.get(name);
  if (shape === undefined) throw new Error(`shape: ${name} is not defined in the doc`);
  return shape;
}

/** The object's own fields with every `...Name` replaced by that shape's fields. */
function flatten(shape: Shape, named: Map<string, Shape>): { key: string; optional: boolean; shape: Shape }[] {
  if (shape.kind !== "object") throw new Error("shape: only an object can be spread");
  return shape.fields.flatMap((field) => ("spread" in field ? flatten(resolve(field.spread, named), named) : [field]));
}

export interface EventVariant {
  /** The heading above the block, e.g. "plan (live)". */
  heading: string;
  type: string;
  validate: ValidateFunction;
}

/** Every event shape of the doc, by `type`; a type may have several variants. */
export function eventShapes(markdown: string): Map<string, EventVariant[]> {
  const blocks: { heading: string; shape: Shape }[] = [];
  let heading = "";
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.startsWith("### ")) heading = line.slice(4).trim();
    if (line.trim() !== "```shape") continue;
    const body: string[] = [];
    for (i++; i < lines.length && lines[i]!.trim() !== "```"; i++) body.push(lines[i]!);
    blocks.push({ heading, shape: parseShape(body.join("\n")) });
  }
  const typeOf = (shape: Shape): string | undefined => {
    if (shape.kind !== "object") return undefined;
    const field = shape.fields.find((f) => "key" in f && f.key === "type");
    return field !== undefined && "shape" in field && field.shape.kind === "literal" ? String(field.shape.value) : undefined;
  };
  const named = new Map(blocks.filter((b) => typeOf(b.shape) === undefined).map((b) => [b.heading, b.shape]));
  const ajv = new Ajv({ allErrors: true });
  const events = new Map<string, EventVariant[]>();
  for (const block of blocks) {
    const type = typeOf(block.shape);
    if (type === undefined) continue;
    const variants = events.get(type) ?? [];
    variants.push({ heading: block.heading, type, validate: ajv.compile(toSchema(block.shape, named)) });
    events.set(type, variants);
  }
  return events;
}

/** The variant `value` matches, or the reasons it matches none. */
export function matchEvent(events: Map<string, EventVariant[]>, value: unknown): { variant: EventVariant } | { problem: string } {
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type !== "string") return { problem: "no string field type" };
  const variants = events.get(type);
  if (variants === undefined) return { problem: `type ${JSON.stringify(type)} is not in docs/json-events.md` };
  const problems: string[] = [];
  for (const variant of variants) {
    if (variant.validate(value)) return { variant };
    problems.push(`${variant.heading}: ${variant.validate.errors?.map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`).join("; ")}`);
  }
  return { problem: problems.join(" | ") };
}
