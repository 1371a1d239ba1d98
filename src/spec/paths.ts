import type { SpecPath } from "./types.ts";

/** ["nodes", "servers", "hosts", 1, "name"] → "nodes.servers.hosts[1].name" */
export function formatPath(path: SpecPath): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? segment : `.${segment}`;
  }
  return text;
}

/** An ajv instancePath ("/nodes/servers/hosts/1/name") as a SpecPath; numeric segments become indexes. */
export function pointerToPath(pointer: string): SpecPath {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((raw) => raw.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((segment) => (/^(0|[1-9][0-9]*)$/.test(segment) ? Number(segment) : segment));
}

/** The value at path inside a parsed document; undefined where the path leads nowhere. */
export function valueAt(root: unknown, path: SpecPath): unknown {
  let node = root;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string | number, unknown>)[key];
  }
  return node;
}
