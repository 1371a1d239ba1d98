/** Left-aligned columns separated by two spaces; the header is styled by the caller. */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[], styleHeader: (s: string) => string): string {
  const widths = header.map((title, c) => Math.max(title.length, ...rows.map((row) => (row[c] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join("  ");
  return [styleHeader(line(header)), ...rows.map(line)].join("\n") + "\n";
}
