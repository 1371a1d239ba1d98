import type { OptionSpec, ParsedArgs } from "./args.ts";
import type { Output, Stdin } from "./output.ts";

/** Everything a command may read besides its arguments comes through here: no command reads the process's environment or stdin itself. */
export interface CommandContext {
  args: ParsedArgs;
  out: Output;
  /** Where { env: NAME } secrets and the lock holder's user name are read. */
  env: Readonly<Record<string, string | undefined>>;
  stdin: Stdin;
}

/**
 * One CLI command. Command files stay small: they parse nothing themselves, load what they
 * need lazily (so `starbase --version` does not pay for the schema validator) and return the exit code.
 */
export interface Command {
  name: string;
  /** One line for the command list. */
  summary: string;
  /** Positional arguments as shown in the usage line: "FILE", "[FILE]". */
  operands: string;
  /** Fewest and most positionals accepted. */
  arity: [number, number];
  options: readonly OptionSpec[];
  /** Paragraphs shown by `help <command>`: behaviour, output, exit codes. */
  description: string;
  run(ctx: CommandContext): Promise<number>;
}

/** Exit codes shared by all commands; validate and plan add 2 (see their help). */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 64;
