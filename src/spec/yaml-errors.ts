import type { YAMLError } from "yaml";

/** The key a DUPLICATE_KEY error points at, read from the source text. */
function keyAt(text: string, offset: number): string {
  const match = /^\s*("[^"]*"|'[^']*'|[^:\n]*?)\s*:/.exec(text.slice(offset));
  return match?.[1] ?? "";
}

function lowerFirst(message: string): string {
  return message.charAt(0).toLowerCase() + message.slice(1).replace(/\.$/, "");
}

/**
 * Words a YAML syntax error for people who write YAML by hand. The position is the parser's:
 * where it noticed the problem, which for an unclosed bracket is the line after it.
 */
export function yamlErrorMessage(error: YAMLError, text: string): { message: string; hint?: string } {
  switch (error.code) {
    case "TAB_AS_INDENT":
      return { message: "tab used for indentation", hint: "YAML indents with spaces only; replace the tab with spaces" };
    case "DUPLICATE_KEY": {
      const key = keyAt(text, error.pos[0]);
      return { message: `duplicate key ${key.startsWith('"') || key.startsWith("'") ? key : `"${key}"`}`, hint: "a key may appear only once in a mapping; remove or merge one of them" };
    }
    case "MULTIPLE_DOCS":
      return { message: "more than one YAML document", hint: "cluster.yaml holds one document; remove the second `---`" };
    case "BAD_INDENT": {
      const flow = /Flow (sequence|mapping)/.exec(error.message);
      if (flow !== null) {
        const close = flow[1] === "sequence" ? "]" : "}";
        return {
          message: `unclosed ${flow[1] === "sequence" ? "[" : "{"} before this line`,
          hint: `end the flow ${flow[1] === "sequence" ? "list" : "mapping"} with "${close}", or indent its continuation lines further`,
        };
      }
      return { message: lowerFirst(error.message), hint: "check the indentation of this line against its siblings" };
    }
    default:
      return { message: lowerFirst(error.message) };
  }
}
