// Asking before something is removed: only on a terminal (stdin and stderr), and never in JSON
// mode, where stdout belongs to a program. Elsewhere the command needs --yes.

import type { OptionSpec } from "./args.ts";
import type { Output, Stdin } from "./output.ts";

export const yesOption: OptionSpec = { name: "yes", description: "do not ask before removing anything; required for that when not on a terminal" };

/** True when a question can be asked and answered. */
export function canAsk(out: Output, stdin: Stdin): boolean {
  return stdin.isTTY === true && out.progress().isTTY && !out.json;
}

/**
 * The answer typed on the terminal, trimmed; undefined when the input ends or Ctrl-C aborts.
 * `hidden`: what is typed is not echoed (a passphrase).
 */
export async function ask(out: Output, stdin: Stdin, question: string, signal: AbortSignal, opts: { hidden?: boolean } = {}): Promise<string | undefined> {
  const { createInterface } = await import("node:readline/promises");
  const { Writable } = await import("node:stream");
  if (opts.hidden === true) process.stderr.write(question);
  const silent = new Writable({ write: (_chunk, _encoding, done) => done() });
  const prompt = createInterface({ input: stdin, output: opts.hidden === true ? silent : process.stderr, ...(opts.hidden === true && { terminal: true }) });
  try {
    return (await prompt.question(opts.hidden === true ? "" : question, { signal })).trim();
  } catch {
    return undefined;
  } finally {
    prompt.close();
    out.message("");
  }
}
