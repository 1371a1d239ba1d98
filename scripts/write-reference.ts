// Rewrites the spec reference section of README.md from spec-schema.json:
//   bun scripts/write-reference.ts [README.md]
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import specSchema from "../spec-schema.json" with { type: "json" };
import { specReferenceMarkdown } from "../src/spec/reference.ts";

export const REFERENCE_START = "<!-- spec-reference:start -->";
export const REFERENCE_END = "<!-- spec-reference:end -->";

/** The README text with the section between the markers replaced; throws when a marker is missing. */
export function withReference(readme: string, reference: string): string {
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  if (start < 0 || end < start) throw new Error(`README.md needs the markers ${REFERENCE_START} and ${REFERENCE_END}, in this order`);
  return `${readme.slice(0, start + REFERENCE_START.length)}\n${reference}${readme.slice(end)}`;
}

if (import.meta.main) {
  const path = process.argv[2] ?? join(import.meta.dir, "..", "README.md");
  const readme = await readFile(path, "utf8");
  const updated = withReference(readme, specReferenceMarkdown(specSchema));
  if (updated === readme) console.error(`${path}: spec reference already up to date`);
  else {
    await writeFile(path, updated);
    console.error(`${path}: spec reference rewritten`);
  }
}
