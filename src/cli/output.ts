import { Chalk, type ChalkInstance } from "chalk";

/** What a command reads answers from (destroy's question): the process's stdin in main. */
export type Stdin = NodeJS.ReadableStream & { isTTY?: boolean };

/**
 * The streams and environment a command reads and writes; injectable so tests and main share
 * one path. Nothing below the CLI entry (main.ts) reads the process's environment or stdin itself.
 */
export interface Terminal {
  stdin: Stdin;
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
}

export type OutputMode = "text" | "json";

/**
 * Where a command's words go. Text mode: the result on stdout, messages on stderr.
 * JSON mode (design.md §3): stdout carries only newline-delimited JSON objects, human
 * text still goes to stderr. Colours only on a TTY and never when NO_COLOR is set.
 */
export class Output {
  readonly json: boolean;
  /** Styles for what goes to stdout / stderr; plain when that stream gets no colour. */
  readonly outStyle: ChalkInstance;
  readonly errStyle: ChalkInstance;

  constructor(
    private readonly terminal: Terminal,
    mode: OutputMode,
  ) {
    this.json = mode === "json";
    this.outStyle = new Chalk({ level: colourLevel(terminal, terminal.stdout) });
    this.errStyle = new Chalk({ level: colourLevel(terminal, terminal.stderr) });
  }

  /** The command's result for a human (text mode only; JSON mode prints events instead). */
  result(text: string): void {
    if (!this.json) this.terminal.stdout.write(text);
  }

  /** One JSON object on its own line (JSON mode only). */
  event(value: object): void {
    if (this.json) this.terminal.stdout.write(JSON.stringify(value) + "\n");
  }

  /** A failure: red on stderr, and an {type: "error"} event in JSON mode. */
  error(message: string): void {
    this.message(this.errStyle.red(message));
    this.event({ type: "error", message });
  }

  /** A message for a human, in either mode. */
  message(text: string): void {
    this.terminal.stderr.write(text.endsWith("\n") ? text : text + "\n");
  }

  /** Where a live run's progress goes (ui/ reporters): events on stdout in JSON mode, text on stderr otherwise. */
  progress(): { stream: Terminal["stderr"]; isTTY: boolean; noColor: boolean } {
    const stream = this.json ? this.terminal.stdout : this.terminal.stderr;
    return { stream, isTTY: stream.isTTY === true && this.terminal.env.TERM !== "dumb", noColor: colourLevel(this.terminal, stream) === 0 };
  }
}

function colourLevel(terminal: Terminal, stream: { isTTY?: boolean }): 0 | 1 | 2 | 3 {
  // no-color.org: any non-empty NO_COLOR disables colour.
  if (terminal.env.NO_COLOR) return 0;
  if (stream.isTTY !== true || terminal.env.TERM === "dumb") return 0;
  const colorTerm = terminal.env.COLORTERM;
  if (colorTerm === "truecolor" || colorTerm === "24bit") return 3;
  return terminal.env.TERM?.includes("256") ? 2 : 1;
}
