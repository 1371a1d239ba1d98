// Types of the validator codegen/spec-validator.ts generates from spec-schema.json (the .js
// beside this file, not committed; see codegen/preload.ts).
import type { ErrorObject } from "ajv";

/** Validates data against spec-schema.json and fills in every default, in place. */
export declare const validate: {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
};
export default validate;
