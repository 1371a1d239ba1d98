import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { LineCounter, parseDocument, type Document } from "yaml";
import { diagnosticAt, toDiagnostic } from "./diagnostics.ts";
import { positionAt, positionFinder, type Position } from "./positions.ts";
import { checkSchema } from "./schema.ts";
import { schemaIssues } from "./schema-messages.ts";
import type { Diagnostic, Spec, SpecPath } from "./types.ts";
import { yamlProblems } from "./yaml-errors.ts";

export interface LoadedSpec {
  /** The file name as given (used in messages). */
  file: string;
  /** Absolute directory of the file: relative secret and CA paths start here. */
  dir: string;
  /** The complete, defaulted spec; absent when the YAML or the schema check failed. */
  spec?: Spec;
  /** The parsed YAML document (positions); absent when the file could not be read. */
  doc?: Document;
  /** YAML and schema problems; semantic checks are separate (semantics.ts; plan/load.ts runs them all). */
  diagnostics: Diagnostic[];
  positionOf(path: SpecPath, key?: boolean): Position;
}

/** Defaults that depend on other fields, which JSON Schema cannot express. */
function applyImpliedDefaults(spec: Spec): void {
  if (spec.rke2.channel === undefined && spec.rke2.version === undefined) spec.rke2.channel = "stable";
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Parses and schema-checks cluster.yaml text; `file` names it in messages and anchors relative paths. */
export function loadSpecText(text: string, file: string): LoadedSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const positionOf = positionFinder(doc, lineCounter);
  const loaded: LoadedSpec = { file, dir: dirname(resolve(file)), doc, diagnostics: [], positionOf };

  for (const { offset, ...problem } of yamlProblems(doc, text)) {
    loaded.diagnostics.push(diagnosticAt(file, positionAt(lineCounter, offset), problem));
  }
  if (loaded.diagnostics.some((d) => d.severity === "error")) return loaded;

  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // yaml refuses documents whose aliases expand beyond its limit (a "billion laughs").
    const message = error instanceof Error ? error.message : String(error);
    loaded.diagnostics.push(diagnosticAt(file, { line: 1, col: 1 }, { severity: "error", message: `cannot read the document: ${message}` }));
    return loaded;
  }
  if (!isMapping(data)) {
    const empty = data === null || data === undefined;
    const message = empty ? "the file is empty" : "the document must be a mapping of keys like name:, proxmox:, nodes:";
    const where = empty ? { line: 1, col: 1 } : positionOf([]);
    loaded.diagnostics.push(diagnosticAt(file, where, { severity: "error", message, hint: "start from `starbase init` or examples/cluster.yaml" }));
    return loaded;
  }

  const issues = schemaIssues(checkSchema(data));
  loaded.diagnostics.push(...issues.map((issue) => toDiagnostic(loaded, issue)));
  if (issues.length === 0) {
    const spec = data as unknown as Spec;
    applyImpliedDefaults(spec);
    loaded.spec = spec;
  }
  return loaded;
}

/** Reads and loads a cluster.yaml; an unreadable file becomes a diagnostic, not an exception. */
export async function loadSpecFile(path: string): Promise<LoadedSpec> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory" : code === "EACCES" ? "permission denied" : String(error);
    return {
      file: path,
      dir: dirname(resolve(path)),
      diagnostics: [diagnosticAt(path, { line: 1, col: 1 }, { severity: "error", message: `cannot read ${path}: ${reason}` })],
      positionOf: () => ({ line: 1, col: 1 }),
    };
  }
  return loadSpecText(text, path);
}
