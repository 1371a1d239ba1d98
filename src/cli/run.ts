import { didYouMean } from "../spec/suggest.ts";
import { parseArgs, UsageError } from "./args.ts";
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, type Command } from "./command.ts";
import { commands } from "./commands/index.ts";
import { commandHelp, commandHelpJson, globalHelp, globalHelpJson, globalOptions, helpTopic, versionFlag } from "./help.ts";
import { Output, type OutputMode, type Terminal } from "./output.ts";

/** Runs one starbase command line and returns its exit code; all output goes through `terminal`. */
export async function runCli(argv: readonly string[], terminal: Terminal): Promise<number> {
  const out = new Output(terminal, outputModeOf(argv));
  try {
    return await dispatch(argv, out, terminal);
  } catch (err) {
    if (err instanceof UsageError) {
      out.error(err.message);
      out.message(`see \`starbase help${err.command ? ` ${err.command}` : ""}\``);
      return EXIT_USAGE;
    }
    // An unexpected failure is a bug: say so plainly, with the stack for the report.
    out.error(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return EXIT_ERROR;
  }
}

async function dispatch(argv: readonly string[], out: Output, { env, stdin }: Terminal): Promise<number> {
  const at = commandIndex(argv);
  const name = at === undefined ? undefined : argv[at]!;
  const rest = at === undefined ? [...argv] : [...argv.slice(0, at), ...argv.slice(at + 1)];

  if (name === undefined) {
    const args = parseArgs(rest, [...globalOptions, versionFlag]);
    if (args.options.has("version")) return findCommand("version").run({ args, out, env, stdin });
    if (args.options.has("help")) return showHelp(out);
    throw new UsageError("no command given");
  }
  if (name === "help") {
    const args = parseArgs(rest, globalOptions);
    if (args.positionals.length > 1) throw new UsageError("help takes at most one command name", "help");
    const topic = args.positionals[0];
    if (topic === undefined) return args.options.has("help") ? showHelp(out, helpTopic) : showHelp(out);
    return showHelp(out, topic === "help" ? helpTopic : findCommand(topic));
  }

  const command = findCommand(name);
  const args = parseCommandArgs(command, rest);
  if (args.options.has("help")) return showHelp(out, command);
  const [min, max] = command.arity;
  if (args.positionals.length < min) {
    throw new UsageError(`${command.name} needs ${command.operands}`, command.name);
  }
  if (args.positionals.length > max) {
    throw new UsageError(`unexpected argument ${args.positionals[max]}`, command.name);
  }
  const missing = command.options.find((o) => o.required === true && !args.options.has(o.name));
  if (missing !== undefined) throw new UsageError(`${command.name} needs --${missing.name}${missing.value ? ` ${missing.value}` : ""}`, command.name);
  return command.run({ args, out, env, stdin });
}

function parseCommandArgs(command: Command, argv: string[]) {
  try {
    return parseArgs(argv, [...command.options, ...globalOptions]);
  } catch (err) {
    if (err instanceof UsageError) throw new UsageError(err.message, command.name);
    throw err;
  }
}

/** Position of the command name: the first word that is neither an option nor a global option's value. */
function commandIndex(argv: readonly string[]): number | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") return i + 1 < argv.length ? i + 1 : undefined;
    if (!arg.startsWith("-") || arg === "-") return i;
    const option = globalOptions.find((o) => arg === `--${o.name}` || (o.short !== undefined && arg === `-${o.short}`));
    if (option?.value !== undefined) i++;
  }
  return undefined;
}

/** Read before parsing, so that even a usage error is reported in the mode the caller asked for. */
function outputModeOf(argv: readonly string[]): OutputMode {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--") break;
    if (argv[i] === "--output" && argv[i + 1] === "json") return "json";
    if (argv[i] === "--output=json") return "json";
  }
  return "text";
}

function findCommand(name: string): Command {
  const command = commands.find((c) => c.name === name);
  if (command) return command;
  const suggestion = didYouMean(name, [...commands.map((c) => c.name), "help"]);
  throw new UsageError(`unknown command "${name}"${suggestion ? `; ${suggestion}` : ""}`);
}

function showHelp(out: Output, command?: Command): number {
  out.result(command ? commandHelp(command) : globalHelp(commands));
  out.event(command ? commandHelpJson(command) : globalHelpJson(commands));
  return EXIT_OK;
}
