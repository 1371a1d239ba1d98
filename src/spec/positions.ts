import { isAlias, isCollection, isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from "yaml";
import type { SpecPath } from "./types.ts";

export interface Position {
  line: number; // 1-based
  col: number; // 1-based
}

interface Located {
  /** The key node of the deepest pair reached (absent for list items and the root). */
  key?: Node;
  /** The value node reached; null for an empty value (`agents:`). */
  value: Node | null;
  /** Whether the whole path was found. */
  complete: boolean;
}

function keyText(node: unknown): string | undefined {
  return isScalar(node) ? String(node.value) : undefined;
}

/** Walks the YAML tree along path, stopping at the deepest node that exists. */
function locate(doc: Document, path: SpecPath): Located {
  let current: Located = { value: doc.contents as Node | null, complete: true };
  for (const segment of path) {
    let node = current.value;
    if (isAlias(node)) node = (node.resolve(doc) as Node | undefined) ?? null;
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(segment));
      if (pair === undefined) return { ...current, complete: false };
      current = { key: pair.key as Node, value: (pair.value as Node | null) ?? null, complete: true };
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment] as Node | undefined;
      if (item === undefined) return { ...current, complete: false };
      current = { value: item, complete: true };
    } else {
      return { ...current, complete: false };
    }
  }
  return current;
}

function startOf(node: Node | null | undefined): number | undefined {
  return node?.range?.[0];
}

/** 1-based line and column of a character offset. */
export function positionAt(lineCounter: LineCounter, offset: number): Position {
  const { line, col } = lineCounter.linePos(offset);
  // linePos reports line 0 before the first newline it has seen.
  return { line: Math.max(line, 1), col: Math.max(col, 1) };
}

/**
 * Positions inside one parsed document. `key: true` asks for the key, `key: false` for the
 * value; left open, a mapping or list is shown at its key (where the reader looks for it) and
 * a scalar at its value. A path that does not exist falls back to the nearest existing
 * ancestor's key, and the root falls back to the start of the document's content.
 */
export function positionFinder(doc: Document, lineCounter: LineCounter): (path: SpecPath, key?: boolean) => Position {
  return (path, key) => {
    const found = locate(doc, path);
    const keyStart = startOf(found.key);
    const valueStart = startOf(found.value);
    const preferKey = !found.complete || key === true || (key === undefined && isCollection(found.value));
    const offset = preferKey ? (keyStart ?? valueStart) : (valueStart ?? keyStart);
    return positionAt(lineCounter, offset ?? 0);
  };
}
