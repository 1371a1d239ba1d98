import { dirname, resolve } from "node:path";
import { LineCounter, parseDocument, type Document } from "yaml";
import { diagnosticAt, toDiagnostic } from "./diagnostics.ts";
import { positionAt, positionFinder, type Position } from "./positions.ts";
import { checkSchema } from "./schema.ts";
import { brokenPaths, schemaIssues } from "./schema-messages.ts";
import { MiB, readTextFile, TextFileError } from "./text-file.ts";
import type { Diagnostic, Spec, SpecPath } from "./types.ts";
import { yamlProblems } from "./yaml-errors.ts";

export interface LoadedSpec {
  /** The file name as given (used in messages). */
  file: string;
  /** Absolute directory of the file: relative secret and CA paths start here. */
  dir: string;
  /** The complete, defaulted spec; absent when the YAML or the schema check failed. */
  spec?: Spec;
  /**
   * The document with every default filled in, also when it failed the schema in parts: a Spec
   * everywhere but below `broken`. Absent when the YAML failed or the document is no mapping.
   */
  defaulted?: Spec;
  /** Where the document failed the schema (see rules.ts); empty when `spec` is set. */
  broken: SpecPath[];
  /** The parsed YAML document (positions); absent when the file could not be read. */
  doc?: Document;
  /** YAML and schema problems; semantic checks are separate (semantics.ts; plan/load.ts runs them all). */
  diagnostics: Diagnostic[];
  positionOf(path: SpecPath, key?: boolean): Position;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Defaults that depend on other fields, which JSON Schema cannot express. */
function applyImpliedDefaults(data: Record<string, unknown>): void {
  const rke2 = data["rke2"];
  if (isMapping(rke2) && rke2["channel"] === undefined && rke2["version"] === undefined) rke2["channel"] = "stable";
}

/** Parses and schema-checks cluster.yaml text; `file` names it in messages and anchors relative paths. */
export function loadSpecText(text: string, file: string): LoadedSpec {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, merge: true });
  const positionOf = positionFinder(doc, lineCounter);
  const loaded: LoadedSpec = { file, dir: dirname(resolve(file)), doc, broken: [], diagnostics: [], positionOf };

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

  const errors = checkSchema(data);
  applyImpliedDefaults(data);
  loaded.diagnostics.push(...schemaIssues(errors).map((issue) => toDiagnostic(loaded, issue)));
  loaded.broken = brokenPaths(errors);
  loaded.defaulted = data as unknown as Spec;
  if (errors.length === 0) loaded.spec = loaded.defaulted;
  return loaded;
}

/** A cluster.yaml of a thousand hosts is about 100 KiB. */
export const SPEC_MAX_BYTES = MiB;

/** Reads and loads a cluster.yaml; an unreadable file becomes a diagnostic, not an exception. */
export async function loadSpecFile(path: string): Promise<LoadedSpec> {
  let text: string;
  try {
    text = readTextFile(path, SPEC_MAX_BYTES);
  } catch (error) {
    if (!(error instanceof TextFileError)) throw error;
    return {
      file: path,
      dir: dirname(resolve(path)),
      broken: [],
      diagnostics: [diagnosticAt(path, error.at ?? { line: 1, col: 1 }, { severity: "error", message: error.message })],
      positionOf: () => ({ line: 1, col: 1 }),
    };
  }
  return loadSpecText(text, path);
}
