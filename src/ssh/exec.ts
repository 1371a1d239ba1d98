// One command on one SSH channel: stdout, stderr, exit status. A non-root login user runs
// everything through `sudo -n` (never a password prompt: a node that asks for one is
// misconfigured and fails at once). On timeout the remote process group gets TERM, then KILL,
// and the channel is closed; the error names the command and the time it had.
import type { Client, ClientChannel } from "ssh2";
import { CommandTimeoutError, SshError } from "./errors.ts";

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the command was ended by a signal (then code is -1). */
  signal?: string;
}

export interface ChannelOptions {
  /** Fed to the command's standard input, then closed. */
  stdin?: string | Uint8Array;
  timeoutMs: number;
  /** How the command is named in errors: short, and never holding secrets. */
  description: string;
}

/** More output than this is refused: a command that prints without bound is a bug, not data. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
/** Time between TERM and KILL for a timed-out command. */
const KILL_GRACE_MS = 2000;

/** POSIX shell single-quoting: safe for any string, including quotes and newlines. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** argv → one shell command line. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/** The command line as the login user runs it: unchanged for root, through `sudo -n sh -c` for anyone else. */
export function asRoot(command: string, user: string): string {
  return user === "root" ? command : `sudo -n sh -c ${shellQuote(command)}`;
}

/** Runs `command` (already wrapped for the user) on a new channel of `client`. */
export function runOnChannel(client: Client, host: string, command: string, options: ChannelOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) {
        reject(new SshError(host, "connection-lost", `cannot open a channel for ${options.description}: ${error.message}`, true));
        return;
      }
      collect(channel, host, options).then(resolve, reject);
    });
  });
}

function collect(channel: ClientChannel, host: string, options: ChannelOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let size = 0;
    let settled = false;
    let exit: { code: number; signal?: string } | undefined;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
    };
    const take = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_OUTPUT_BYTES) {
        settle(() => reject(new SshError(host, "output", `${options.description} printed more than ${MAX_OUTPUT_BYTES} bytes; stopped it`, false)));
        stop(channel);
        return;
      }
      into.push(chunk);
    };
    const timer = setTimeout(() => {
      settle(() => reject(new CommandTimeoutError(host, options.description, options.timeoutMs)));
      stop(channel);
    }, options.timeoutMs);
    channel.on("data", take(stdout));
    channel.stderr.on("data", take(stderr));
    channel.on("exit", (code: number | null, signal?: string) => {
      exit = code === null ? { code: -1, ...(signal ? { signal } : {}) } : { code };
    });
    channel.on("close", () => {
      settle(() => {
        if (exit === undefined) {
          reject(new SshError(host, "connection-lost", `the connection dropped while running ${options.description}`, true));
          return;
        }
        resolve({ ...exit, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") });
      });
    });
    if (options.stdin !== undefined) channel.end(options.stdin);
    else channel.end();
  });
}

/** TERM (sshd sends it to the session's process group), KILL after a grace period, then close. */
function stop(channel: ClientChannel): void {
  try {
    channel.signal("TERM");
  } catch {
    // The channel is already gone; nothing left to stop.
  }
  const kill = setTimeout(() => {
    try {
      channel.signal("KILL");
      channel.close();
    } catch {
      // Closed in the meantime.
    }
  }, KILL_GRACE_MS);
  channel.once("close", () => clearTimeout(kill));
}
