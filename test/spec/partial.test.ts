// The semantic rules run on documents that failed the schema in parts, skipping only the rules
// whose declared inputs are broken (src/spec/rules.ts). A rule that reads a value it did not
// declare would crash or talk nonsense on such a document. So: break every value of the valid
// base and of the examples in every way, one at a time, and check that loading never throws
// and never words a message from garbage.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isMap, isSeq, parseDocument, type Document, type Node } from "yaml";
import { loadCluster } from "../../src/plan/load.ts";

const dir = mkdtempSync(join(tmpdir(), "sbspec-partial-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const root = join(import.meta.dir, "..", "..");
const sources = [join(import.meta.dir, "valid-base.yaml"), join(root, "examples", "cluster.yaml"), join(root, "examples", "unicast.yaml")];

type Path = (string | number)[];

/** Every path to a value in the document, mappings and lists included. */
function pathsOf(node: unknown, path: Path = [], found: Path[] = []): Path[] {
  if (path.length > 0) found.push(path);
  if (isMap(node)) for (const pair of node.items) pathsOf(pair.value, [...path, String((pair.key as { value: unknown }).value)], found);
  if (isSeq(node)) node.items.forEach((item, index) => pathsOf(item, [...path, index], found));
  return found;
}

/** Replacements that break a value whatever its type. */
const BREAKERS: { name: string; apply(doc: Document, path: Path): void }[] = [
  { name: "removed", apply: (doc, path) => doc.deleteIn(path) },
  { name: "null", apply: (doc, path) => doc.setIn(path, null) },
  { name: "a number", apply: (doc, path) => doc.setIn(path, -7) },
  { name: "a word", apply: (doc, path) => doc.setIn(path, "x y") },
  { name: "a list", apply: (doc, path) => doc.setIn(path, doc.createNode(["a", 1])) },
  { name: "a mapping", apply: (doc, path) => doc.setIn(path, doc.createNode({ zz: 1 })) },
  { name: "true", apply: (doc, path) => doc.setIn(path, true) },
];

/** Words a message built from a broken value would show. */
const GARBAGE = /undefined|NaN|\[object |null is|TypeError/;

let count = 0;
describe("every value broken in every way, one at a time", () => {
  for (const source of sources) {
    const text = readFileSync(source, "utf8");
    const paths = pathsOf(parseDocument(text).contents as Node | null);
    test(`${source.slice(root.length + 1)}: loads and words every problem (${paths.length} values × ${BREAKERS.length})`, async () => {
      expect(paths.length).toBeGreaterThan(40);
      for (const path of paths) {
        for (const breaker of BREAKERS) {
          const doc = parseDocument(text);
          breaker.apply(doc, path);
          const file = join(dir, `case-${count++}.yaml`);
          writeFileSync(file, doc.toString());
          let cluster: Awaited<ReturnType<typeof loadCluster>>;
          try {
            cluster = await loadCluster(file, process.env);
          } catch (error) {
            throw new Error(`${path.join(".")} ${breaker.name}: loadCluster threw ${(error as Error).stack}`);
          }
          for (const d of cluster.diagnostics) {
            if (GARBAGE.test(`${d.message} ${d.hint ?? ""}`)) throw new Error(`${path.join(".")} ${breaker.name}: ${d.message} (${d.hint ?? ""})`);
            expect(d.line).toBeGreaterThan(0);
          }
        }
      }
    }, 60_000);
  }
});
