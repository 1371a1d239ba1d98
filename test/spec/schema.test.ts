// spec-schema.json is read by editors as well as by starbase: it must describe every
// field, and reject every key it does not know.
import { expect, test } from "bun:test";
import specSchema from "../../spec-schema.json" with { type: "json" };
import { resolveRef, type SchemaNode } from "../../src/spec/schema-ref.ts";

const root = specSchema as SchemaNode;

/** Every object schema reachable from the root, with its dotted path. */
function objectSchemas(node: SchemaNode, path: string, found: [string, SchemaNode][]): [string, SchemaNode][] {
  const resolved = resolveRef(node, root);
  if (resolved["type"] === "array") return objectSchemas((resolved["items"] as SchemaNode | undefined) ?? {}, `${path}[]`, found);
  const properties = resolved["properties"] as Record<string, SchemaNode> | undefined;
  if (properties === undefined) return found;
  found.push([path, resolved]);
  for (const [key, child] of Object.entries(properties)) objectSchemas(child, path === "" ? key : `${path}.${key}`, found);
  return found;
}

const objects = objectSchemas(root, "", []);

test("the walk reaches deep into the schema", () => {
  expect(objects.map(([path]) => path)).toContain("nodes.agents.extraNetworks[]");
  expect(objects.map(([path]) => path)).toContain("loadBalancer.vrrp.authPass");
});

test("every mapping forbids unknown keys", () => {
  const open = objects.filter(([, schema]) => schema["additionalProperties"] !== false).map(([path]) => path);
  expect(open).toEqual([]);
});

test("every property has a description", () => {
  const undescribed: string[] = [];
  for (const [path, schema] of objects) {
    for (const [key, child] of Object.entries(schema["properties"] as Record<string, SchemaNode>)) {
      const description = resolveRef(child, root)["description"];
      if (typeof description !== "string" || description.length < 10) undescribed.push(path === "" ? key : `${path}.${key}`);
    }
  }
  expect(undescribed).toEqual([]);
});

test("every pattern has a worded error message", () => {
  const unworded: string[] = [];
  const visit = (node: unknown, path: string) => {
    if (typeof node !== "object" || node === null) return;
    const record = node as SchemaNode;
    if (typeof record["pattern"] === "string" && typeof record["patternErrorMessage"] !== "string") unworded.push(path);
    for (const [key, child] of Object.entries(record)) visit(child, `${path}/${key}`);
  };
  visit(root, "#");
  expect(unworded).toEqual([]);
});
