// The PVE API schema: path routing and parameter validation, from the extract of Proxmox's API
// dump in pve-schema/ (one file per release; see pve-schema/README.md).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { checkObject, type ParamErrors, type PropertySchema } from "./validate.ts";

export type PermissionCheck = (string | number | string[] | PermissionCheck)[];

export interface MethodInfo {
  name?: string;
  method: string;
  parameters?: { additionalProperties?: number; properties?: Record<string, PropertySchema> };
  permissions?: { check?: PermissionCheck; user?: string; description?: string } | null;
  returns?: PropertySchema;
  protected?: number | null;
  proxyto?: string | null;
  allowtoken?: number | null;
}

interface PathNode {
  path: string;
  text: string;
  info: Record<string, MethodInfo>;
  children: PathNode[];
}

/** A file of pve-schema/: the kept methods of one release, keyed "METHOD /path/template". */
interface SchemaExtract {
  release: string;
  methods: Record<string, MethodInfo>;
}

/** The path tree of the API (as PVE::RESTHandler registers it) with the extract's methods. */
function pathTree(methods: Record<string, MethodInfo>): PathNode[] {
  const roots: PathNode[] = [];
  for (const [endpoint, info] of Object.entries(methods)) {
    const [verb = "", path = ""] = endpoint.split(" ");
    let siblings = roots;
    let node: PathNode | undefined;
    let prefix = "";
    for (const text of path.split("/").filter((segment) => segment !== "")) {
      prefix += `/${text}`;
      node = siblings.find((candidate) => candidate.text === text);
      if (!node) {
        node = { path: prefix, text, info: {}, children: [] };
        siblings.push(node);
      }
      siblings = node.children;
    }
    if (node) node.info[verb] = info;
  }
  return roots;
}

/**
 * Subclasses registered with `fragmentDelimiter => ''`: below them the rest of the path is one
 * component, because volume ids may contain slashes (pve-storage API2::Storage::Status).
 */
const WHOLE_REMAINDER = new Set(["/nodes/{node}/storage/{storage}/content"]);

/** Splits a request path into components like PVE::RESTHandler::map_path_to_methods. */
export function pathComponents(path: string, consumedPrefix: (components: string[]) => string | undefined): string[] {
  const segments = path.split("/").filter((segment) => segment !== "");
  for (let length = 1; length < segments.length; length++) {
    const prefix = consumedPrefix(segments.slice(0, length));
    if (prefix && WHOLE_REMAINDER.has(prefix)) return [...segments.slice(0, length), segments.slice(length).join("/")];
  }
  return segments;
}

export interface RouteMatch {
  template: string;
  info: MethodInfo | undefined;
  pathParams: Record<string, string>;
}

// Upper bounds of indexed options whose schema gives no indexRange (their description states none).
const INDEX_LIMITS: Record<string, number> = {
  net: 31,
  ipconfig: 31,
  hostpci: 15,
  numa: 7,
  unused: 255,
  virtiofs: 9,
  mp: 255,
  dev: 255,
  link: 7,
  acmedomain: 4,
};

function expandIndexed(properties: Record<string, PropertySchema>): Record<string, PropertySchema> {
  const expanded: Record<string, PropertySchema> = {};
  for (const [key, schema] of Object.entries(properties)) {
    const indexed = /^(.+)\[n\]$/.exec(key);
    if (!indexed) {
      expanded[key] = schema;
      continue;
    }
    const base = indexed[1] ?? key;
    const [first, last] = schema.indexRange ?? [0, INDEX_LIMITS[base] ?? 255];
    for (let index = first; index <= last; index++) expanded[`${base}${index}`] = schema;
  }
  return expanded;
}

export class ApiSchema {
  private readonly roots: PathNode[];
  private readonly expandedParams = new Map<MethodInfo, Record<string, PropertySchema>>();

  constructor(
    readonly file: string,
    tree: PathNode[],
  ) {
    this.roots = tree;
  }

  static load(file: string): ApiSchema {
    const extract = JSON.parse(readFileSync(file, "utf8")) as Partial<SchemaExtract>;
    if (typeof extract.methods !== "object" || extract.methods === null) {
      throw new Error(`${file} is not a PVE schema extract (made by scripts/pve-schema.ts)`);
    }
    return new ApiSchema(file, pathTree(extract.methods));
  }

  /** Resolves a request path (already split at /api2/json) to its template; undefined = unknown path. */
  match(method: string, path: string): RouteMatch | undefined {
    const segments = pathComponents(path, (components) => this.walk(components)?.path);
    const pathParams: Record<string, string> = {};
    let candidates = this.roots;
    let node: PathNode | undefined;
    for (const segment of segments) {
      node = candidates.find((child) => child.text === segment) ?? candidates.find((child) => /^\{.+\}$/.test(child.text));
      if (!node) return undefined;
      const placeholder = /^\{(.+)\}$/.exec(node.text);
      if (placeholder && node.text !== segment) pathParams[placeholder[1] ?? ""] = segment;
      candidates = node.children;
    }
    if (!node) return undefined;
    return { template: node.path, info: node.info[method], pathParams };
  }

  private walk(segments: string[]): PathNode | undefined {
    let candidates = this.roots;
    let node: PathNode | undefined;
    for (const segment of segments) {
      node = candidates.find((child) => child.text === segment) ?? candidates.find((child) => /^\{.+\}$/.test(child.text));
      if (!node) return undefined;
      candidates = node.children;
    }
    return node;
  }

  properties(info: MethodInfo): Record<string, PropertySchema> {
    let expanded = this.expandedParams.get(info);
    if (!expanded) {
      expanded = expandIndexed(info.parameters?.properties ?? {});
      this.expandedParams.set(info, expanded);
    }
    return expanded;
  }

  /** The schema of one parameter of a method, e.g. to type config values in responses. */
  parameter(method: string, template: string, name: string): PropertySchema | undefined {
    const info = this.match(method, template.replace(/\{[^}]+\}/g, "x"))?.info;
    return info ? this.properties(info)[name] : undefined;
  }

  validate(info: MethodInfo, params: Record<string, unknown>): ParamErrors {
    const errors: ParamErrors = {};
    checkObject("", this.properties(info), params, info.parameters?.additionalProperties, errors);
    return errors;
  }
}

/** The extract of the newest release of a major version: 9.x → 9.1, 8.x → 8.4 (others: 9.1). */
export function schemaFileFor(version: string): string {
  const release = version.split(".")[0] === "8" ? "8.4" : "9.1";
  return join(import.meta.dir, "pve-schema", `${release}.json`);
}
