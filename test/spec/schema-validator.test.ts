// starbase validates with ajv's standalone code, generated from spec-schema.json by
// codegen/spec-validator.ts (not committed). It must be what the generator makes of today's
// schema, and judge every document exactly as ajv compiling the schema at run time does.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { ErrorObject } from "ajv";
import { parse } from "yaml";
import { GENERATED_FILE } from "../../codegen/spec-validator-files.ts";
import { specAjv, specValidatorSource } from "../../codegen/spec-validator.ts";
import specSchema from "../../spec-schema.json" with { type: "json" };
import { validate as generated } from "../../src/spec/schema-validator.generated.js";

const root = join(import.meta.dir, "..", "..");
const documents = [
  ...readdirSync(join(import.meta.dir, "broken")).map((name) => join(import.meta.dir, "broken", name)),
  join(import.meta.dir, "valid-base.yaml"),
  ...readdirSync(join(root, "examples")).map((name) => join(root, "examples", name)),
].filter((file) => file.endsWith(".yaml"));

/** What a validator makes of a document: its verdict, its errors and the document with defaults filled in. */
function judge(validate: { (data: unknown): boolean; errors?: ErrorObject[] | null }, text: string) {
  let data: unknown;
  try {
    data = parse(text, { merge: true });
  } catch {
    return undefined; // broken YAML never reaches the schema
  }
  const valid = validate(data);
  const errors = (validate.errors ?? []).map(({ instancePath, schemaPath, keyword, params, message, data: value, parentSchema }) => ({
    instancePath, schemaPath, keyword, params, message, value, parentSchema,
  }));
  return { valid, errors: valid ? [] : errors, data };
}

test("the generated validator is what the generator makes of today's spec-schema.json", () => {
  expect(readFileSync(GENERATED_FILE, "utf8")).toBe(specValidatorSource());
});

test("the generator follows the schema: another schema gives other code", () => {
  const changed = structuredClone(specSchema) as { properties: { name: { minLength: number } } };
  changed.properties.name.minLength = 2;
  expect(specValidatorSource(changed)).not.toBe(specValidatorSource(specSchema));
});

describe("the generated validator and ajv compiling at run time agree", () => {
  const compiled = specAjv().compile(specSchema);
  test("on enough documents", () => expect(documents.length).toBeGreaterThan(80));
  for (const file of documents) {
    test(file.slice(root.length + 1), () => {
      const text = readFileSync(file, "utf8");
      const expected = judge(compiled, text);
      expect(judge(generated, text)).toEqual(expected);
    });
  }
});
