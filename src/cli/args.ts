/** An option a command accepts. Without `value` it is a flag; with it, it takes one argument. */
export interface OptionSpec {
  name: string; // long name without dashes: "output"
  short?: string; // one letter without the dash: "o"
  value?: string; // placeholder shown in help: "FORMAT"; absent for flags
  choices?: readonly string[];
  /** With `value`: the value may be left out (`--merge` or `--merge=PATH`; only the `=` form takes one). */
  optionalValue?: true;
  /** The command cannot run without it: shown without brackets in the usage line, and checked. */
  required?: boolean;
  description: string;
}

export interface ParsedArgs {
  positionals: string[];
  /** Long option name → its value, or true for a flag. The last occurrence wins. */
  options: Map<string, string | true>;
}

/** Wrong use of the command line: exit code 64 (EX_USAGE, sysexits.h). */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * `--name value`, `--name=value`, `-n value`, flags, and positionals in any order; `--`
 * ends the options and a lone `-` is a positional (stdin/stdout).
 */
export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const positionals: string[] = [];
  const options = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg === "-" || !arg.startsWith("-")) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const written = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = findOption(specs, written);
    if (spec === undefined) throw new UsageError(`unknown option ${written}`);
    if (spec.value === undefined) {
      if (eq > 0) throw new UsageError(`option --${spec.name} takes no value`);
      options.set(spec.name, true);
      continue;
    }
    if (spec.optionalValue === true && eq < 0) {
      options.set(spec.name, true);
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`option --${spec.name} needs a value (${spec.value})`);
    if (spec.choices && !spec.choices.includes(value)) {
      throw new UsageError(`option --${spec.name} must be one of ${spec.choices.join(", ")}, not "${value}"`);
    }
    options.set(spec.name, value);
  }
  return { positionals, options };
}

function findOption(specs: readonly OptionSpec[], written: string): OptionSpec | undefined {
  if (written.startsWith("--")) return specs.find((s) => s.name === written.slice(2));
  if (written.length === 2) return specs.find((s) => s.short === written.slice(1));
  return undefined;
}
