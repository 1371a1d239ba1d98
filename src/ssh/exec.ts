// One command on one SSH channel: stdout, stderr, exit status. Every command runs as root: a
// non-root login user goes through `sudo -n` (never a password prompt: a node that asks for one
// is misconfigured and fails at once). Every command runs under coreutils `timeout` on the host,
// which kills the command's whole process group shortly after the client gives up: OpenSSH
// refuses "signal" requests on root sessions ("session signalling requires privilege
// separation"), and closing the channel alone leaves the command running.
import type { Client, ClientChannel } from "ssh2";
import { CommandNotStartedError, CommandTimeoutError, SshError } from "./errors.ts";

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

/** POSIX shell single-quoting: safe for any string, including quotes and newlines. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** argv → one shell command line. */
export function shellCommand(argv: readonly string[]): string {
  return argv.map(shellQuote).join(" ");
}

/** The host's own limit runs this long after the client's, so that the client reports the timeout. */
const REMOTE_MARGIN_MS = 1000;
/** After the host's TERM, `timeout` sends KILL this much later. */
const REMOTE_KILL_AFTER_S = 5;

/**
 * The command line the login user sends: `sh -c` under `timeout` (seconds, with a margin over
 * the client's limit), through `sudo -n` for anyone but root.
 */
export function remoteCommand(command: string, user: string, timeoutMs: number): string {
  const seconds = Math.ceil((timeoutMs + REMOTE_MARGIN_MS) / 100) / 10;
  const limited = `timeout -k ${REMOTE_KILL_AFTER_S} ${seconds} sh -c ${shellQuote(command)}`;
  return user === "root" ? limited : `sudo -n ${limited}`;
}

/**
 * sshd refuses a new session while it still holds MaxSessions (10) of them, and it frees one only
 * after the client's close reached it, just after the client saw the channel end: a burst of
 * commands can meet a refusal that a short wait cures.
 */
const CHANNEL_OPEN_RETRIES = 5;
const EXEC_REQUEST_FAILED = "Unable to exec";
const CHANNEL_OPEN_RETRY_MS = 50;

class ChannelOpenError {
  constructor(readonly error: Error & { reason?: number }) {}
}

/** One channel; its listeners are attached in ssh2's callback, before any later packet (exit) can be missed. */
function runOnce(client: Client, host: string, command: string, options: ChannelOptions): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) reject(new ChannelOpenError(error));
      else collect(channel, host, options).then(resolve, reject);
    });
  });
}

/** Runs `command` (already made by remoteCommand) on a new channel of `client`. */
export async function runOnChannel(client: Client, host: string, command: string, options: ChannelOptions): Promise<ExecResult> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await runOnce(client, host, command, options);
    } catch (failure) {
      if (!(failure instanceof ChannelOpenError)) throw failure;
      const refused = failure.error.reason !== undefined; // the server answered: a refusal, not a dead connection
      if (refused && attempt < CHANNEL_OPEN_RETRIES) {
        await new Promise((resolve) => setTimeout(resolve, CHANNEL_OPEN_RETRY_MS * 2 ** attempt));
        continue;
      }
      if (refused) throw new SshError(host, "connection-lost", `cannot run ${options.description}: the host refused a new session (sshd MaxSessions?): ${failure.error.message}`, true);
      // ssh2 reports a failed exec request after the channel opened as "Unable to exec" (lib/client.js
      // reqExec), also when the connection dropped right after sending it: the command may have started.
      if (failure.error.message === EXEC_REQUEST_FAILED) {
        throw new SshError(host, "connection-lost", `the connection dropped while starting ${options.description}`, true);
      }
      throw new CommandNotStartedError(host, `cannot run ${options.description}: the connection is gone: ${failure.error.message}`);
    }
  }
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

/**
 * Gives up on a timed-out command: TERM where sshd passes signals on (non-root sessions: sudo
 * relays it to `timeout`, which signals the command's group), then the channel is closed. The
 * host's `timeout` kills the command either way.
 */
function stop(channel: ClientChannel): void {
  try {
    channel.signal("TERM");
    channel.close();
  } catch {
    // The channel is already gone.
  }
}
