import type { ErrorObject } from "ajv";
import { cut, quote, specIssue } from "./diagnostics.ts";
import { formatPath, pointerToPath } from "./paths.ts";
import { schema } from "./schema.ts";
import { resolveRef, type SchemaNode } from "./schema-ref.ts";
import { didYouMean } from "./suggest.ts";
import type { SpecIssue, SpecPath } from "./types.ts";

/**
 * Whether an error is about a secret reference as a whole (its type, its keys), which may be the
 * secret itself. By schema path: the generated validator's schema nodes are copies, not the
 * objects of spec-schema.json.
 */
function isSecretRefError(error: ErrorObject): boolean {
  return error.schemaPath === `#/definitions/secretRef/${error.keyword}`;
}

/** How a value the user wrote is quoted back in a message. */
function describeValue(value: unknown): string {
  if (value === null || value === undefined) return "an empty value";
  if (Array.isArray(value)) return value.length === 0 ? "an empty list" : "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return JSON.stringify(cut(value, 40));
  return String(value);
}

function integerRange(node: SchemaNode): string {
  const min = node["minimum"];
  const max = node["maximum"];
  if (typeof min === "number" && typeof max === "number") return `an integer from ${min} to ${max}`;
  if (typeof min === "number") return `an integer ≥ ${min}`;
  if (typeof max === "number") return `an integer ≤ ${max}`;
  return "an integer";
}

/** A noun phrase for what a schema node accepts: "an integer ≥ 1", "a list of strings" … */
function expectedNoun(node: SchemaNode): string {
  const choices = node["enum"];
  if (Array.isArray(choices)) return `one of ${choices.join(", ")}`;
  if (node["format"] === "ipv4") return "an IPv4 address like 10.0.20.10";
  switch (node["type"]) {
    case "integer":
      return integerRange(node);
    case "boolean":
      return "true or false";
    case "string":
      return typeof node["minLength"] === "number" && node["minLength"] > 0 ? "a non-empty string" : "a string";
    case "object":
      return "a mapping (key: value)";
    case "array": {
      const items = resolveRef((node["items"] as SchemaNode | undefined) ?? {}, schema);
      const list = typeof node["minItems"] === "number" && node["minItems"] > 0 ? "a non-empty list" : "a list";
      return `${list} of ${pluralNoun(items)}`;
    }
    default:
      return "a valid value";
  }
}

function pluralNoun(items: SchemaNode): string {
  if (items["format"] === "ipv4") return "IPv4 addresses";
  switch (items["type"]) {
    case "integer":
      return integerRange(items).replace(/^an integer/, "integers");
    case "string":
      return "strings";
    case "object":
      return "mappings";
    default:
      return "values";
  }
}

/** "must be …" for a value that failed a schema node. */
function expectation(node: SchemaNode): string {
  const worded = node["patternErrorMessage"];
  return typeof worded === "string" ? worded : `must be ${expectedNoun(node)}`;
}

function firstSentence(text: unknown): string | undefined {
  if (typeof text !== "string") return undefined;
  // A sentence ends at a full stop before a capital letter or the end ("e.g. `vmbr0`" does not).
  const end = text.search(/\.(\s+[A-Z]|$)/);
  return end < 0 ? text : text.slice(0, end);
}

function propertyHint(parent: SchemaNode | undefined, property: string): string | undefined {
  const properties = parent?.["properties"] as Record<string, SchemaNode> | undefined;
  const child = properties?.[property];
  const description = child === undefined ? undefined : firstSentence(resolveRef(child, schema)["description"]);
  return description === undefined ? undefined : `${property}: ${description}`;
}

function where(path: SpecPath): string {
  return path.length === 0 ? "" : `${formatPath(path)}: `;
}

function acceptsString(node: SchemaNode): boolean {
  const type = node["type"];
  return type === "string" || (Array.isArray(type) && type.includes("string"));
}

function valueIssue(error: ErrorObject, path: SpecPath): SpecIssue {
  const node = error.parentSchema ?? {};
  // A secret reference that is wrong as a whole may be the secret itself: never echo it.
  const secretRef = isSecretRefError(error);
  let message = `${where(path)}${secretRef ? "must be { env: NAME }, { file: PATH } or a string" : expectation(node)}`;
  if (!secretRef) message += `, got ${describeValue(error.data)}`;
  let hint: string | undefined;
  const choices = node["enum"];
  if (Array.isArray(choices) && typeof error.data === "string") hint = didYouMean(error.data, choices.map(String));
  if (error.keyword === "type" && acceptsString(node) && (typeof error.data === "number" || typeof error.data === "boolean")) {
    hint = `YAML read this as ${typeof error.data === "number" ? "a number" : "true/false"}; put the value in quotes`;
  }
  // An empty value has no position of its own; its key is where the reader looks.
  if (error.data === null && path.length > 0) return specIssue("error", path, message, `give ${formatPath(path)} a value or remove it`, true);
  return specIssue("error", path, message, hint, false);
}

/** Keywords (of those spec-schema.json uses) that judge a value on its own. */
const VALUE_KEYWORDS = new Set(["type", "enum", "format", "pattern", "minimum", "maximum", "minLength", "minItems"]);

function wordError(error: ErrorObject): SpecIssue {
  const path = pointerToPath(error.instancePath);
  const params = error.params as Record<string, unknown>;
  if (VALUE_KEYWORDS.has(error.keyword)) return valueIssue(error, path);
  switch (error.keyword) {
    case "additionalProperties": {
      const unknown = String(params["additionalProperty"]);
      const allowed = Object.keys((error.parentSchema?.["properties"] as SchemaNode | undefined) ?? {});
      const message = path.length === 0 ? `unknown top-level key ${quote(unknown)}` : `${formatPath(path)}: unknown key ${quote(unknown)}`;
      return specIssue("error", [...path, unknown], message, didYouMean(unknown, allowed) ?? `allowed keys: ${allowed.join(", ")}`, true);
    }
    case "required": {
      const missing = String(params["missingProperty"]);
      const message =
        path.length === 0 ? `missing required top-level key "${missing}"` : `${formatPath(path)}: missing required key "${missing}"`;
      return specIssue("error", path, message, propertyHint(error.parentSchema, missing), true);
    }
    case "oneOf": {
      // The only oneOf in the schema: a node group has exactly one of hosts / count.
      const passing = params["passingSchemas"];
      if (Array.isArray(passing)) return specIssue("error", [...path, "count"], `${formatPath(path)}: set either hosts or count, not both`, undefined, true);
      return specIssue("error", path, `${formatPath(path)}: needs hosts (a list of VMs) or count (a number of VMs, with ipStart)`, undefined, true);
    }
    case "dependencies": {
      const property = String(params["property"]);
      const missing = String(params["missingProperty"]);
      return specIssue("error", [...path, property], `${formatPath(path)}: ${property} needs ${missing}`, propertyHint(error.parentSchema, missing), true);
    }
    case "minProperties":
      return specIssue("error", path, `${where(path)}empty secret reference`, "use { env: NAME } or { file: PATH }", true);
    case "maxProperties":
      return specIssue("error", path, `${where(path)}a secret reference has exactly one of env or file`, undefined, true);
    default:
      return specIssue("error", path, `${where(path)}${error.message ?? error.keyword}`);
  }
}

/**
 * Turns ajv's errors into human messages, one per problem: errors that only follow from a
 * type error at the same place are dropped, as are the branch failures inside a oneOf.
 */
export function schemaIssues(errors: readonly ErrorObject[]): SpecIssue[] {
  const typeErrorAt = new Set(errors.filter((e) => e.keyword === "type").map((e) => e.instancePath));
  const oneOfAt = new Set(errors.filter((e) => e.keyword === "oneOf").map((e) => e.instancePath));
  const relevant = errors.filter((e) => {
    if (e.keyword !== "type" && typeErrorAt.has(e.instancePath)) return false;
    return !(oneOfAt.has(e.instancePath) && e.schemaPath.includes("/oneOf/"));
  });
  const seen = new Set<string>();
  const issues: SpecIssue[] = [];
  for (const error of relevant) {
    const worded = wordError(error);
    const identity = `${formatPath(worded.path)}\u0000${worded.message}`;
    if (seen.has(identity)) continue;
    seen.add(identity);
    issues.push(worded);
  }
  return issues;
}

/**
 * The places in the document that failed the schema, for the semantic rules to stay away from
 * (rules.ts): the failing value, or the missing key. An unknown key breaks the mapping it is in
 * (a misspelt `adress:` leaves a host without the address the user meant; `{ evn: X }` is no
 * secret reference), except at the top, whose sections stand on their own.
 */
export function brokenPaths(errors: readonly ErrorObject[]): SpecPath[] {
  return errors.flatMap((error): SpecPath[] => {
    const path = pointerToPath(error.instancePath);
    const params = error.params as Record<string, unknown>;
    switch (error.keyword) {
      case "additionalProperties":
        return path.length === 0 ? [] : [path];
      case "required":
      case "dependencies":
        return [[...path, String(params["missingProperty"])]];
      default:
        return [path];
    }
  });
}
