// Where the generated spec validator lives and what it is made from (no ajv here: the preload
// imports this on every run).
import { join } from "node:path";

const root = join(import.meta.dir, "..");

export const SCHEMA_FILE = join(root, "spec-schema.json");
export const GENERATED_FILE = join(root, "src", "spec", "schema-validator.generated.js");
/** Everything the generated code is made from: a change to any of them regenerates it. */
export const GENERATOR_INPUTS = [
  SCHEMA_FILE,
  join(import.meta.dir, "spec-validator.ts"),
  join(root, "src", "spec", "schema-formats.ts"),
  join(root, "node_modules", "ajv", "package.json"),
];
