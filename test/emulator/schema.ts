// The PVE API schema (pve-docs apidata.json): path routing and parameter validation. The file is
// read in place from the shared reference directory; it is never copied into the repository.
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
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
  info?: Record<string, MethodInfo>;
  children?: PathNode[];
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

// Upper bounds of indexed options whose description does not state "n is A to B".
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
    const range = /n is (\d+) to (\d+)/.exec((schema as { description?: string }).description ?? "");
    const last = range ? Number(range[2]) : (INDEX_LIMITS[base] ?? 255);
    for (let index = range ? Number(range[1]) : 0; index <= last; index++) expanded[`${base}${index}`] = schema;
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
    return new ApiSchema(file, JSON.parse(readFileSync(file, "utf8")) as PathNode[]);
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
      candidates = node.children ?? [];
    }
    if (!node) return undefined;
    return { template: node.path, info: node.info?.[method], pathParams };
  }

  private walk(segments: string[]): PathNode | undefined {
    let candidates = this.roots;
    let node: PathNode | undefined;
    for (const segment of segments) {
      node = candidates.find((child) => child.text === segment) ?? candidates.find((child) => /^\{.+\}$/.test(child.text));
      if (!node) return undefined;
      candidates = node.children ?? [];
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

const SCHEMA_FILES: Record<string, string> = { "9": "apidata.json", "8": "apidata-pve8.4.json" };

/**
 * Where the schema for a PVE version lives: `STARBASE_PVE_SCHEMA` (a file, or a directory holding
 * apidata.json / apidata-pve8.4.json), else ../shared/pve-api next to the repository root.
 */
export function locateSchema(version: string, env: Record<string, string | undefined> = process.env): string | undefined {
  const fileName = SCHEMA_FILES[version.split(".")[0] ?? ""] ?? "apidata.json";
  const override = env.STARBASE_PVE_SCHEMA;
  if (override) {
    if (!existsSync(override)) return undefined;
    return statSync(override).isDirectory() ? existingFile(join(override, fileName)) : override;
  }
  const repositoryRoot = resolve(import.meta.dir, "..", "..");
  return existingFile(resolve(repositoryRoot, "..", "shared", "pve-api", fileName));
}

function existingFile(file: string): string | undefined {
  return existsSync(file) ? file : undefined;
}
