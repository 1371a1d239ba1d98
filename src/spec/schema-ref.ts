export type SchemaNode = Record<string, unknown>;

/** Follows a local "$ref" ("#/definitions/x") in root, with the referring node's own keywords (description, default) winning. */
export function resolveRef(node: SchemaNode, root: SchemaNode): SchemaNode {
  const ref = node["$ref"];
  if (typeof ref !== "string" || !ref.startsWith("#/")) return node;
  let target: unknown = root;
  for (const segment of ref.slice(2).split("/")) target = (target as SchemaNode | undefined)?.[segment];
  if (typeof target !== "object" || target === null) throw new Error(`spec-schema.json: unresolved ${ref}`);
  const { $ref: _ignored, ...own } = node;
  return { ...resolveRef(target as SchemaNode, root), ...own };
}
