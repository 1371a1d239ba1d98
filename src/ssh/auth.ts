// Login credentials shared by every connection of a run: the caller's ssh-agent (its
// SSH_AUTH_SOCK, passed in) and an optional private key file. The agent goes first, as with
// OpenSSH, so an encrypted key file's passphrase is asked only when the agent did not do; the
// decrypted key is kept for the run, so the passphrase is asked at most once.
import { readFileSync } from "node:fs";
import { type AnyAuthMethod, type AuthenticationType, type AuthHandlerMiddleware, type ParsedKey, utils } from "ssh2";
import { SshError } from "./errors.ts";

export interface AuthOptions {
  /** ssh-agent socket (the caller's SSH_AUTH_SOCK), if any. */
  agentSocket?: string;
  /** Private key file (ssh.privateKey, `~` already expanded). */
  privateKeyFile?: string;
  /** The key file's passphrase, asked only when it is encrypted and needed: a secret reference or a prompt on a TTY. */
  passphrase?: (file: string) => Promise<string | undefined>;
}

const ENCRYPTED = /encrypted|passphrase/i;

export class Credentials {
  private key: Promise<ParsedKey> | undefined;

  constructor(private readonly options: AuthOptions) {}

  /** What is tried, for messages: never a key or passphrase, only where they live. */
  describe(): string[] {
    const tried: string[] = [];
    if (this.options.agentSocket !== undefined) tried.push(`ssh-agent at ${this.options.agentSocket}`);
    if (this.options.privateKeyFile !== undefined) tried.push(`key file ${this.options.privateKeyFile}`);
    return tried;
  }

  /** The decrypted key file, read and decrypted once per run; errors name the file, never its content. */
  privateKey(label: string): Promise<ParsedKey> {
    const file = this.options.privateKeyFile;
    if (file === undefined) return Promise.reject(new Error("no key file configured"));
    this.key ??= this.loadKey(label, file);
    return this.key;
  }

  private async loadKey(label: string, file: string): Promise<ParsedKey> {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new SshError(label, "key", `cannot read private key file ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, false);
    }
    let parsed = firstKey(utils.parseKey(text));
    if (parsed instanceof Error && ENCRYPTED.test(parsed.message)) {
      const passphrase = await this.options.passphrase?.(file);
      if (passphrase === undefined) {
        throw new SshError(label, "key", `private key file ${file} is encrypted and no passphrase was given (set ssh.privateKeyPassphrase, run on a terminal, or add the key to ssh-agent)`, false);
      }
      parsed = firstKey(utils.parseKey(text, passphrase));
      if (parsed instanceof Error) throw new SshError(label, "key", `cannot decrypt private key file ${file}: wrong passphrase?`, false);
    }
    if (parsed instanceof Error) throw new SshError(label, "key", `private key file ${file} is not a private key ssh2 can read: ${parsed.message}`, false);
    if (!parsed.isPrivateKey()) throw new SshError(label, "key", `${file} holds a public key, not a private key`, false);
    return parsed;
  }

  /**
   * ssh2's authHandler for one connection as `user`: agent, then the key file. `tried` collects
   * what was offered, for the message when the server refuses everything; `failed` receives a
   * key-file error, which ends the attempt.
   */
  authHandler(label: string, user: string, tried: string[], failed: (error: SshError) => void): AuthHandlerMiddleware {
    const queue: ("agent" | "key")[] = [];
    if (this.options.agentSocket !== undefined) queue.push("agent");
    if (this.options.privateKeyFile !== undefined) queue.push("key");
    type Next = (method: AnyAuthMethod | AuthenticationType | false) => void;
    return (methodsLeft, _partial, next) => {
      const proceed = next as Next;
      const allowed = (methodsLeft ?? ["publickey"]).includes("publickey");
      const method = allowed ? queue.shift() : undefined;
      if (method === undefined) return proceed(false);
      if (method === "agent") {
        tried.push(`ssh-agent at ${this.options.agentSocket}`);
        return proceed({ type: "agent", username: user, agent: this.options.agentSocket ?? "" });
      }
      tried.push(`key file ${this.options.privateKeyFile}`);
      this.privateKey(label).then(
        (key) => proceed({ type: "publickey", username: user, key }),
        (error: unknown) => {
          failed(error instanceof SshError ? error : new SshError(label, "key", String(error), false));
          proceed(false);
        },
      );
    };
  }
}

function firstKey(parsed: ParsedKey | ParsedKey[] | Error): ParsedKey | Error {
  if (Array.isArray(parsed)) return parsed[0] ?? new Error("the file holds no key");
  return parsed;
}

/** The message when the server refused every method: names the user and what was tried. */
export function authFailureMessage(user: string, tried: readonly string[], agentNote?: string): string {
  const what = tried.length === 0 ? "nothing (no ssh-agent socket and no ssh.privateKey)" : tried.join(", ");
  const note = agentNote === undefined ? "" : ` (${agentNote})`;
  return `authentication as ${user} failed: tried ${what}${note}; the key must be in ssh.authorizedKeys on the host`;
}
