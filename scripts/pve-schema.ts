// Makes the Proxmox VE API schema extract the emulator and the contract tests read
// (test/emulator/pve-schema/<release>.json) from the API dump Proxmox publishes with pve-docs
// (apidata.json), keeping only the methods listed in endpoints.txt and only what a validator
// needs: no description texts.
//
//   bun scripts/pve-schema.ts [--source DIR] [--out DIR] [--endpoints FILE]   write the extract
//   bun scripts/pve-schema.ts --check [...]     regenerate in memory; exit 1 if the committed
//                                               extract differs, 0 with "did not run" without a source
//
// --source defaults to ../shared/pve-api beside the repository (the reference copy of the dumps);
// it holds apidata.json (9.1) and apidata-pve8.4.json (8.4).
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";

const repositoryRoot = resolve(import.meta.dir, "..");

/** The releases the extract covers and the dump each is made from. */
export const RELEASES: Record<string, string> = { "9.1": "apidata.json", "8.4": "apidata-pve8.4.json" };

interface DumpNode {
  path: string;
  info?: Record<string, DumpMethod>;
  children?: DumpNode[];
}

type Schema = Record<string, unknown>;

interface DumpMethod {
  parameters?: { additionalProperties?: number; properties?: Record<string, Schema> };
  permissions?: { check?: unknown[]; user?: string };
  returns?: Schema;
  allowtoken?: number;
}

/** Keys of a parameter or return schema that validation uses; everything else (texts, renderers, links) is dropped. */
const SCHEMA_KEYS = [
  "type", "optional", "default", "enum", "pattern", "format", "minimum", "maximum", "minLength", "maxLength",
  "requires", "default_key", "alias", "keyAlias", "items", "properties", "additionalProperties",
];

/** Reads endpoints.txt: one "METHOD /path/template" a line; # starts a comment. */
export function readEndpoints(file: string): string[] {
  const endpoints: string[] = [];
  for (const [index, raw] of readFileSync(file, "utf8").split("\n").entries()) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    if (!/^(GET|POST|PUT|DELETE) \/\S*$/.test(line)) throw new Error(`${file}:${index + 1}: expected "METHOD /path", got "${line}"`);
    if (endpoints.includes(line)) throw new Error(`${file}:${index + 1}: ${line} is listed twice`);
    endpoints.push(line);
  }
  return endpoints;
}

function cleanSchema(schema: Schema, name = ""): Schema {
  const kept: Schema = {};
  for (const key of SCHEMA_KEYS) {
    const value = schema[key];
    if (value === undefined) continue;
    if (key === "items" && isObject(value)) kept.items = cleanSchema(value);
    else if ((key === "properties" || key === "format") && isObject(value)) kept[key] = cleanProperties(value as Record<string, Schema>);
    else if (key === "additionalProperties" && isObject(value)) kept.additionalProperties = cleanSchema(value);
    else kept[key] = value;
  }
  // A named property-string format whose keys the dump spells out only in its typetext.
  const typetext = schema.typetext;
  if (typeof schema.format === "string" && typeof typetext === "string" && typetext.includes("=")) kept.typetext = typetext;
  // Indexed options (scsi[n]) state their index range only in prose: "n is 0 to 30".
  const range = name.endsWith("[n]") ? /n is (\d+) to (\d+)/.exec(String(schema.description ?? "")) : null;
  if (range) kept.indexRange = [Number(range[1]), Number(range[2])];
  return kept;
}

function cleanProperties(properties: Record<string, Schema>): Record<string, Schema> {
  return Object.fromEntries(Object.entries(properties).map(([name, schema]) => [name, cleanSchema(schema, name)]));
}

function isObject(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function cleanMethod(method: DumpMethod): Schema {
  const kept: Schema = {};
  if (method.allowtoken !== undefined) kept.allowtoken = method.allowtoken;
  if (method.permissions) {
    const { check, user } = method.permissions;
    kept.permissions = { ...(check ? { check } : {}), ...(user ? { user } : {}) };
  }
  if (method.parameters) {
    kept.parameters = {
      ...(method.parameters.additionalProperties !== undefined ? { additionalProperties: method.parameters.additionalProperties } : {}),
      properties: cleanProperties(method.parameters.properties ?? {}),
    };
  }
  if (method.returns) kept.returns = cleanSchema(method.returns);
  return kept;
}

function indexDump(tree: DumpNode[]): Map<string, DumpMethod> {
  const methods = new Map<string, DumpMethod>();
  const visit = (node: DumpNode): void => {
    for (const [verb, info] of Object.entries(node.info ?? {})) methods.set(`${verb} ${node.path}`, info);
    node.children?.forEach(visit);
  };
  tree.forEach(visit);
  return methods;
}

const VERB_ORDER = ["GET", "POST", "PUT", "DELETE"];

function byPathThenVerb(a: string, b: string): number {
  const [verbA = "", pathA = ""] = a.split(" ");
  const [verbB = "", pathB = ""] = b.split(" ");
  return pathA === pathB ? VERB_ORDER.indexOf(verbA) - VERB_ORDER.indexOf(verbB) : pathA < pathB ? -1 : 1;
}

/**
 * JSON with one line per parameter: objects are spread over lines down to the parameter
 * schemas, which stay on one line each, as do permissions and return schemas.
 */
function layout(value: unknown, depth = 0, key = ""): string {
  const compact = !isObject(value) || depth >= 5 || ["permissions", "returns", "source"].includes(key);
  if (compact) return JSON.stringify(value);
  const indent = " ".repeat(depth + 1);
  const entries = Object.entries(value).map(([name, inner]) => `${indent}${JSON.stringify(name)}: ${layout(inner, depth + 1, name)}`);
  return entries.length === 0 ? "{}" : `{\n${entries.join(",\n")}\n${" ".repeat(depth)}}`;
}

/** The extract of one release as the text committed to the repository. */
export function extract(release: string, dumpFile: string, endpoints: string[]): { text: string; missing: string[] } {
  const raw = readFileSync(dumpFile);
  const methods = indexDump(JSON.parse(raw.toString("utf8")) as DumpNode[]);
  const missing = endpoints.filter((endpoint) => !methods.has(endpoint));
  const kept = endpoints.filter((endpoint) => methods.has(endpoint)).sort(byPathThenVerb);
  const document = {
    release,
    source: { file: dumpFile.split("/").pop(), sha256: createHash("sha256").update(raw).digest("hex") },
    methods: Object.fromEntries(kept.map((endpoint) => [endpoint, cleanMethod(methods.get(endpoint) as DumpMethod)])),
  };
  return { text: `${layout(document)}\n`, missing };
}

export interface Options {
  source: string;
  out: string;
  endpoints: string;
  check: boolean;
}

/** Writes (or with `check`, compares) every release's extract; returns the exit status. */
export function run(options: Options, print: (line: string) => void = console.log): number {
  if (!existsSync(options.source)) {
    if (options.check) {
      print(`pve-schema drift check did not run: no API dumps at ${options.source}`);
      return 0;
    }
    print(`pve-schema: no API dumps at ${options.source} (give --source DIR with ${Object.values(RELEASES).join(", ")})`);
    return 1;
  }
  const endpoints = readEndpoints(options.endpoints);
  const extracts = Object.entries(RELEASES).map(([release, dump]) => ({ release, ...extract(release, join(options.source, dump), endpoints) }));
  const missingEverywhere = endpoints.filter((endpoint) => extracts.every(({ missing }) => missing.includes(endpoint)));
  if (missingEverywhere.length > 0) {
    print(`pve-schema: no release has ${missingEverywhere.join(", ")} (a typo in ${options.endpoints}?)`);
    return 1;
  }
  const drifted: string[] = [];
  for (const { release, text, missing } of extracts) {
    for (const endpoint of missing) print(`pve-schema: ${release} has no ${endpoint}`);
    const target = join(options.out, `${release}.json`);
    const shown = relative(repositoryRoot, target);
    if (options.check) {
      if (!existsSync(target) || readFileSync(target, "utf8") !== text) drifted.push(shown);
    } else {
      writeFileSync(target, text);
      print(`pve-schema: wrote ${shown} (${endpoints.length - missing.length} methods, ${text.length} bytes)`);
    }
  }
  if (drifted.length > 0) {
    print(`pve-schema drift check failed: ${drifted.join(", ")} differ from what ${options.source} and ${options.endpoints} give; run bun scripts/pve-schema.ts and commit the result`);
    return 1;
  }
  if (options.check) print(`pve-schema drift check passed: the extract matches ${options.source}`);
  return 0;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      source: { type: "string", default: resolve(repositoryRoot, "..", "shared", "pve-api") },
      out: { type: "string", default: join(repositoryRoot, "test", "emulator", "pve-schema") },
      endpoints: { type: "string" },
      check: { type: "boolean", default: false },
    },
  });
  const out = resolve(values.out);
  return { source: resolve(values.source), out, endpoints: resolve(values.endpoints ?? join(out, "endpoints.txt")), check: values.check };
}

if (import.meta.main) {
  try {
    process.exit(run(parseOptions(process.argv.slice(2))));
  } catch (error) {
    console.error(`pve-schema: ${(error as Error).message}`);
    process.exit(1);
  }
}
