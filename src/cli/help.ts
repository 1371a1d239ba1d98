import type { OptionSpec } from "./args.ts";
import type { Command } from "./command.ts";

export const globalOptions: readonly OptionSpec[] = [
  {
    name: "output",
    value: "FORMAT",
    choices: ["text", "json"],
    description: "json: newline-delimited JSON objects on stdout, human text on stderr",
  },
  { name: "help", short: "h", description: "show help for the command" },
];

/** `help` itself, for `starbase help help`; the dispatcher runs it. */
export const helpTopic: Command = {
  name: "help",
  summary: "show the list of commands, or one command's usage, options and exit codes",
  operands: "[COMMAND]",
  arity: [0, 1],
  options: [],
  description: [
    "Without COMMAND: every command with one line about it, the global options and the exit codes.",
    "With COMMAND: its usage line, what it does, its JSON output, options and exit codes; the same",
    "as `starbase COMMAND --help`. JSON: {type: \"help\", …} (docs/json-events.md).",
    "",
    "Exit codes: 0 shown, 64 unknown command.",
  ].join("\n"),
  run: () => Promise.reject(new Error("help is run by the dispatcher")),
};

/** Only before a command: `starbase --version`. */
export const versionFlag: OptionSpec = { name: "version", description: "same as `starbase version`" };

function usageLine(command: Command): string {
  const options = command.options.map((o) => {
    const written = o.value ? `--${o.name} ${o.value}` : `--${o.name}`;
    return o.required === true ? written : `[${written}]`;
  });
  return ["starbase", command.name, command.operands, ...options].filter((part) => part !== "").join(" ");
}

function optionLines(options: readonly OptionSpec[]): string[] {
  const left = options.map((o) => {
    const long = o.value ? `--${o.name} ${o.choices ? o.choices.join("|") : o.value}` : `--${o.name}`;
    return o.short ? `-${o.short}, ${long}` : `    ${long}`;
  });
  const width = Math.max(...left.map((l) => l.length));
  return options.map((o, i) => `  ${left[i]!.padEnd(width)}  ${o.description}`);
}

export function globalHelp(commands: readonly Command[]): string {
  const names = commands.map((c) => [c.name, c.operands].filter((p) => p !== "").join(" "));
  const width = Math.max(...names.map((n) => n.length), "help [COMMAND]".length);
  return [
    "starbase: one cluster.yaml to an RKE2 cluster on openSUSE MicroOS VMs on Proxmox VE",
    "",
    "Usage: starbase COMMAND [ARGS] [OPTIONS]",
    "",
    "Commands:",
    ...commands.map((c, i) => `  ${names[i]!.padEnd(width)}  ${c.summary}`),
    `  ${"help [COMMAND]".padEnd(width)}  show this help, or a command's`,
    "",
    "Global options:",
    ...optionLines([...globalOptions, versionFlag]),
    "",
    "With --output json, stdout carries only JSON objects, one per line, each with a \"type\"",
    "(every shape is in docs/json-events.md); a spec that fails to load gives {type: \"diagnostic\"}",
    "events, while the warnings of one that loads stay on stderr (`validate --output json` gives",
    "them as events). Errors are {type: \"error\", message}.",
    "Colour is used only on a terminal and never when NO_COLOR is set.",
    "Exit codes: 0 success, 1 error, 2 validate: invalid / plan (live): changes pending, 64 usage error.",
    "",
  ].join("\n");
}

export function commandHelp(command: Command): string {
  return [
    `Usage: ${usageLine(command)}`,
    "",
    `${command.summary[0]!.toUpperCase()}${command.summary.slice(1)}.`,
    "",
    command.description,
    "",
    "Options:",
    ...optionLines([...command.options, ...globalOptions]),
    "",
  ].join("\n");
}

/** Help as data for `--output json`. */
export function commandHelpJson(command: Command): object {
  return {
    type: "help",
    command: command.name,
    usage: usageLine(command),
    summary: command.summary,
    description: command.description,
    options: [...command.options, ...globalOptions].map((o) => ({
      name: `--${o.name}`,
      ...(o.short && { short: `-${o.short}` }),
      ...(o.value && { value: o.value }),
      ...(o.choices && { choices: o.choices }),
      description: o.description,
    })),
  };
}

export function globalHelpJson(commands: readonly Command[]): object {
  return { type: "help", commands: commands.map((c) => ({ name: c.name, operands: c.operands, summary: c.summary })) };
}
