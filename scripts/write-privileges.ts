// Rewrites the privilege table of docs/privileges.md from PRIVILEGE_RULES:
//   bun scripts/write-privileges.ts [docs/privileges.md]
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { privilegesMarkdown } from "../src/steps/infra/privileges.ts";

export const TABLE_START = "<!-- privileges:start -->";
export const TABLE_END = "<!-- privileges:end -->";

/** The text with the section between the markers replaced; throws when a marker is missing. */
export function withPrivilegeTable(doc: string, table: string): string {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start) throw new Error(`docs/privileges.md needs the markers ${TABLE_START} and ${TABLE_END}, in this order`);
  return `${doc.slice(0, start + TABLE_START.length)}\n${table}${doc.slice(end)}`;
}

if (import.meta.main) {
  const path = process.argv[2] ?? join(import.meta.dir, "..", "docs", "privileges.md");
  const doc = await readFile(path, "utf8");
  const updated = withPrivilegeTable(doc, privilegesMarkdown());
  if (updated === doc) console.error(`${path}: privilege table already up to date`);
  else {
    await writeFile(path, updated);
    console.error(`${path}: privilege table rewritten`);
  }
}
