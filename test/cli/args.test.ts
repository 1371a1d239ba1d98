import { describe, expect, test } from "bun:test";
import { parseArgs, UsageError, type OptionSpec } from "../../src/cli/args.ts";

const specs: OptionSpec[] = [
  { name: "format", value: "FORMAT", choices: ["text", "dot"], description: "" },
  { name: "out", short: "o", value: "DIR", description: "" },
  { name: "offline", description: "" },
];

describe("parseArgs", () => {
  test("positionals and options in any order, both value spellings, short options", () => {
    const args = parseArgs(["--format", "dot", "file.yaml", "--out=dir", "--offline", "-o", "later"], specs);
    expect(args.positionals).toEqual(["file.yaml"]);
    expect(Object.fromEntries(args.options)).toEqual({ format: "dot", out: "later", offline: true });
  });

  test("`-` is a positional and `--` ends the options", () => {
    const args = parseArgs(["-", "--", "--offline"], specs);
    expect(args.positionals).toEqual(["-", "--offline"]);
    expect(args.options.size).toBe(0);
  });

  test("rejects unknown options, missing values, values on flags and values outside the choices", () => {
    expect(() => parseArgs(["--ofline"], specs)).toThrow(new UsageError("unknown option --ofline"));
    expect(() => parseArgs(["-x"], specs)).toThrow("unknown option -x");
    expect(() => parseArgs(["--out"], specs)).toThrow("option --out needs a value (DIR)");
    expect(() => parseArgs(["--offline=yes"], specs)).toThrow("option --offline takes no value");
    expect(() => parseArgs(["--format", "svg"], specs)).toThrow('option --format must be one of text, dot, not "svg"');
  });

  test("an option value may start with a dash", () => {
    expect(parseArgs(["--out", "-weird"], specs).options.get("out")).toBe("-weird");
  });
});
