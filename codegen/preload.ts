// Preloaded (bunfig.toml) by `bun test` and every `bun <file>` run in the repository: makes sure
// the generated spec validator exists and is newer than what it is made from, so that running
// from source never needs a build first. A few stat calls when it is fresh; ajv is loaded only
// to regenerate.
import { existsSync, statSync } from "node:fs";
import { GENERATED_FILE, GENERATOR_INPUTS } from "./spec-validator-files.ts";

const mtime = (file: string) => (existsSync(file) ? statSync(file).mtimeMs : -1);
const generatedAt = mtime(GENERATED_FILE);
if (GENERATOR_INPUTS.some((input) => mtime(input) > generatedAt)) {
  const { writeSpecValidator } = await import("./spec-validator.ts");
  writeSpecValidator();
}
