import Ajv, { type ErrorObject } from "ajv";
import specSchema from "../../spec-schema.json" with { type: "json" };
import { parseIpv4 } from "../net/ip.ts";
import type { SchemaNode } from "./schema-ref.ts";

/** spec-schema.json, the single source of truth for what cluster.yaml may contain. */
export const schema: SchemaNode = specSchema;

const ajv = new Ajv({
  allErrors: true,
  useDefaults: true,
  // verbose: errors carry the failing value and schema, which the messages are built from.
  verbose: true,
  strict: true,
  // `required` inside oneOf names properties declared next to it, which strict mode cannot see.
  strictRequired: false,
  // SecretRef is a string or a mapping.
  allowUnionTypes: true,
});
// Understood by editors (yaml-language-server); starbase uses it to word pattern errors.
ajv.addKeyword("patternErrorMessage");
ajv.addFormat("ipv4", { type: "string", validate: (text: string) => parseIpv4(text) !== undefined });

const validate = ajv.compile(schema);

/**
 * Validates data against spec-schema.json and fills in every default, in place.
 * Returns the raw ajv errors (empty when valid); schema-messages.ts words them.
 */
export function checkSchema(data: unknown): ErrorObject[] {
  return validate(data) ? [] : [...(validate.errors ?? [])];
}
