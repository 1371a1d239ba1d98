import { isAlias, isScalar, visit, type Document, type Node, type YAMLError } from "yaml";
import { cut } from "./diagnostics.ts";

export interface YamlProblem {
  severity: "error" | "warning";
  offset: number;
  message: string;
  hint?: string;
}

/** The key a DUPLICATE_KEY error points at, read from the source text. */
function keyAt(text: string, offset: number): string {
  const match = /^\s*("[^"]*"|'[^']*'|[^:\n]*?)\s*:/.exec(text.slice(offset));
  const key = cut(match?.[1] ?? "");
  return key.startsWith('"') || key.startsWith("'") ? key : `"${key}"`;
}

function lowerFirst(message: string): string {
  return message.charAt(0).toLowerCase() + message.slice(1).replace(/\.$/, "");
}

/**
 * The node an unterminated quote or flow collection opened: the parser notices the problem
 * where the node ends (often the end of the file), but the fix belongs where it starts.
 */
function openedNodeEndingAt(doc: Document, offset: number, wanted: (node: Node) => boolean): Node | undefined {
  let found: Node | undefined;
  const check = (_key: unknown, node: Node) => {
    if (found === undefined && node.range?.[1] === offset && wanted(node)) found = node;
  };
  visit(doc, { Scalar: check, Seq: check, Map: check });
  return found;
}

function isQuoted(node: Node): boolean {
  return isScalar(node) && (node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE");
}

function isFlow(node: Node): boolean {
  return (node as { flow?: boolean }).flow === true;
}

function describe(error: YAMLError, doc: Document, text: string): Omit<YamlProblem, "severity"> {
  const offset = error.pos[0];
  switch (error.code) {
    case "TAB_AS_INDENT":
      return { offset, message: "tab used for indentation", hint: "YAML indents with spaces only; replace the tab with spaces" };
    case "DUPLICATE_KEY":
      return { offset, message: `duplicate key ${keyAt(text, offset)}`, hint: "a key may appear only once in a mapping; remove or merge one of them" };
    case "MULTIPLE_DOCS":
      return { offset, message: "more than one YAML document", hint: "cluster.yaml holds one document; remove the second `---`" };
    case "MISSING_CHAR": {
      const quoted = /quote/.test(error.message) ? openedNodeEndingAt(doc, offset, isQuoted) : undefined;
      if (quoted?.range) {
        const quote = text.charAt(quoted.range[0]);
        return { offset: quoted.range[0], message: `unclosed ${quote}`, hint: `close the string with ${quote}` };
      }
      return { offset, message: lowerFirst(error.message) };
    }
    case "BAD_INDENT": {
      const flow = /Flow (sequence|map)/i.exec(error.message);
      if (flow === null) return { offset, message: lowerFirst(error.message), hint: "indent this line like the other keys of its mapping" };
      const [open, close, what] = flow[1] === "sequence" ? ["[", "]", "list"] : ["{", "}", "mapping"];
      const opened = openedNodeEndingAt(doc, offset, isFlow);
      return {
        offset: opened?.range?.[0] ?? offset,
        message: `unclosed ${open}`,
        hint: `end the ${what} with ${close}, or indent its continuation lines further`,
      };
    }
    default:
      return { offset, message: lowerFirst(error.message) };
  }
}

/**
 * Problems the parser leaves for later: an alias without its anchor, and keys that are
 * lists or mappings (cluster.yaml keys are plain names). Both are found on the tree, before
 * the document is turned into data, so that they carry their position.
 */
function treeProblems(doc: Document): YamlProblem[] {
  const problems: YamlProblem[] = [];
  visit(doc, {
    Alias(_key, alias) {
      if (alias.resolve(doc) === undefined) {
        problems.push({ severity: "error", offset: alias.range?.[0] ?? 0, message: `unknown anchor *${cut(alias.source)}`, hint: `define &${cut(alias.source)} before using *${cut(alias.source)}` });
      }
    },
    Pair(_key, pair) {
      const key = pair.key as Node | null;
      if (key !== null && !isScalar(key) && !isAlias(key)) {
        problems.push({ severity: "error", offset: key.range?.[0] ?? 0, message: "a key must be a plain name, not a list or mapping" });
      }
    },
  });
  return problems;
}

/**
 * The YAML problems worth showing. After the first syntax error the parser's picture of the
 * document is unreliable and further syntax errors are mostly echoes of it (a tab yields three),
 * so only that first one is kept; duplicate keys are found on the finished tree and always are.
 */
export function yamlProblems(doc: Document, text: string): YamlProblem[] {
  const duplicates = doc.errors.filter((error) => error.code === "DUPLICATE_KEY");
  const firstSyntax = doc.errors.find((error) => error.code !== "DUPLICATE_KEY");
  const errors = firstSyntax === undefined ? duplicates : [...duplicates, firstSyntax];
  return [
    ...(errors.length === 0 ? treeProblems(doc) : []),
    ...errors.map((error) => ({ severity: "error" as const, ...describe(error, doc, text) })),
    ...doc.warnings.map((warning) => ({ severity: "warning" as const, ...describe(warning, doc, text) })),
  ];
}
