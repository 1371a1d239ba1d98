// The CLI on a real pseudo-terminal (Bun.spawn's `terminal`): stdin, stdout and stderr are the
// pty, so starbase sees a terminal, shows live progress and may ask questions.

import { join } from "node:path";
import { childEnv, type Lab, repo } from "./harness.ts";

export interface Answer {
  /** Answered once this appears in the output. */
  prompt: string;
  reply: string;
  /** Runs while the question waits, before the reply is typed. */
  meanwhile?: () => void | Promise<void>;
}

export interface TerminalRun {
  rc: number;
  /** Everything written to the terminal, escape sequences included. */
  output: string;
}

const ASK_TIMEOUT_MS = 60_000;

export async function onTerminal(lab: Lab, args: string[], answers: Answer[] = []): Promise<TerminalRun> {
  let output = "";
  let closed!: () => void;
  const eof = new Promise<void>((resolve) => (closed = resolve));
  const proc = Bun.spawn([process.execPath, join(repo, "src", "main.ts"), ...args], {
    cwd: lab.dir,
    env: childEnv({ ...lab.env, TERM: "xterm" }),
    terminal: {
      cols: 160,
      rows: 50,
      data: (_terminal, data) => {
        output += new TextDecoder().decode(data);
      },
      exit: () => closed(),
    },
  });
  try {
    let seen = 0;
    for (const answer of answers) {
      const deadline = Date.now() + ASK_TIMEOUT_MS;
      while (output.indexOf(answer.prompt, seen) < 0) {
        if (proc.exitCode !== null) throw new Error(`starbase ended before asking "${answer.prompt}":\n${output}`);
        if (Date.now() > deadline) throw new Error(`no "${answer.prompt}" within ${ASK_TIMEOUT_MS} ms:\n${output}`);
        await Bun.sleep(20);
      }
      seen = output.indexOf(answer.prompt, seen) + answer.prompt.length;
      await answer.meanwhile?.();
      proc.terminal!.write(`${answer.reply}\r`);
    }
    const rc = await proc.exited;
    await Promise.race([eof, Bun.sleep(2_000)]);
    return { rc, output };
  } finally {
    if (proc.exitCode === null) proc.kill();
    proc.terminal?.close();
  }
}
