import type { ErrorObject } from "ajv";
import specSchema from "../../spec-schema.json" with { type: "json" };
import type { SchemaNode } from "./schema-ref.ts";
// Generated from spec-schema.json at build time (codegen/spec-validator.ts): no schema compiling at run time.
import { validate } from "./schema-validator.generated.js";

/** spec-schema.json, the single source of truth for what cluster.yaml may contain. */
export const schema: SchemaNode = specSchema;

/**
 * Validates data against spec-schema.json and fills in every default, in place.
 * Returns the raw ajv errors (empty when valid); schema-messages.ts words them.
 */
export function checkSchema(data: unknown): ErrorObject[] {
  return validate(data) ? [] : [...(validate.errors ?? [])];
}
