// What a terminal shows after some output: enough of a VT100 to check that live lines are
// redrawn in place rather than appended. Carriage return, newline, "cursor up n lines to column
// 0" (CSI n F), "clear to end of screen" (CSI J), "clear line" (CSI 2K / K); colours are dropped.

export function screen(output: string): string[] {
  const lines: string[] = [""];
  let row = 0;
  let col = 0;
  const put = (text: string): void => {
    const line = (lines[row] ?? "").padEnd(col, " ");
    lines[row] = line.slice(0, col) + text + line.slice(col + text.length);
    col += text.length;
  };
  for (const [token, count, command] of output.matchAll(/\x1b\[(\d*)([A-Za-z])|\r|\n|[^\x1b\r\n]+/g)) {
    if (token === "\n") {
      row += 1;
      col = 0;
      lines[row] ??= "";
    } else if (token === "\r") {
      col = 0;
    } else if (command === "F") {
      row = Math.max(0, row - Number(count || 1));
      col = 0;
      lines[row] = "";
    } else if (command === "J") {
      lines.length = row + 1;
      lines[row] = (lines[row] ?? "").slice(0, col);
    } else if (command === "K") {
      lines[row] = count === "2" ? "" : (lines[row] ?? "").slice(0, col);
    } else if (command === undefined) {
      put(token);
    }
  }
  const trimmed = lines.map((line) => line.trimEnd());
  while (trimmed.length > 0 && trimmed[trimmed.length - 1] === "") trimmed.pop();
  return trimmed;
}
