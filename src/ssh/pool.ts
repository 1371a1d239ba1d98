// One SSH connection per host, opened on first use and shared by every step on that host; jump
// hops (ProxyJump semantics, a chain) are shared by all hosts and reached through forwardOut, so
// no system `ssh` binary is needed. A connection that drops is reopened on the next use, with
// backoff while the host does not answer (a VM booting or rebooting), but a host-key mismatch
// or a refused login is never retried.
import { connect as tcpConnect } from "node:net";
import type { Duplex } from "node:stream";
import { Client, type ClientChannel, type ServerHostKeyAlgorithm } from "ssh2";
import { authFailureMessage, type Credentials } from "./auth.ts";
import { CommandNotStartedError, formatMs, SshError } from "./errors.ts";
import { type ExecResult, remoteCommand, runOnChannel } from "./exec.ts";
import { PUT_HASH_MISMATCH, type PutOptions, putScript, sha256Hex } from "./put.ts";
import { type HostKeyCheck, hostKeyCheck, type HostKeyPolicy } from "./verify.ts";

/** One hop of the jump chain, in the order the connection goes through them. */
export interface JumpHop {
  user: string;
  host: string;
  port: number;
  hostKey: HostKeyPolicy;
}

/** A host to run commands on. */
export interface HostTarget {
  /** Names the host in messages and counts (the VM's name). */
  name: string;
  /** What to dial (from the last jump hop when there is a chain). */
  address: string;
  port?: number;
  hostKey: HostKeyPolicy;
}

export interface ConnectRetry {
  /** Give up once the next attempt would start later than this after the first. */
  deadlineMs: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export interface PoolOptions {
  /** Login user on every host (jump hops name their own). */
  user: string;
  credentials: Credentials;
  jumpHosts?: readonly JumpHop[];
  /** TCP connect plus handshake plus login, per attempt (time spent asking for a passphrase excluded). */
  connectTimeoutMs?: number;
  /** Default timeout of every command; exec may give its own. */
  commandTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  connectRetry?: ConnectRetry;
  /** Channels open at once on one connection (OpenSSH's MaxSessions is 10). */
  maxChannelsPerHost?: number;
}

export interface ExecOptions {
  stdin?: string | Uint8Array;
  timeoutMs?: number;
  /** How the command is named in errors; defaults to its first line. Give one when the command holds a secret. */
  description?: string;
}

export const DEFAULT_CONNECT_RETRY: ConnectRetry = { deadlineMs: 300_000, initialDelayMs: 500, maxDelayMs: 8_000 };
const DEFAULTS = { connectTimeoutMs: 15_000, commandTimeoutMs: 600_000, keepaliveIntervalMs: 10_000, keepaliveCountMax: 3, maxChannelsPerHost: 8 };

/** Delay before retry number `attempt` (0-based): doubling from initialDelayMs, capped at maxDelayMs. */
export function backoffDelay(attempt: number, retry: ConnectRetry): number {
  return Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.min(attempt, 30));
}

/** Socket errors a host that is booting, rebooting or briefly unreachable produces. */
const TRANSIENT_SOCKET_CODES = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "ETIMEDOUT", "ECONNRESET", "EPIPE", "ECONNABORTED", "EHOSTDOWN"]);
/** SSH_OPEN_ADMINISTRATIVELY_PROHIBITED: the jump host forbids forwarding; trying again cannot help. */
const OPEN_ADMINISTRATIVELY_PROHIBITED = 1;

interface Endpoint {
  label: string;
  user: string;
  host: string;
  port: number;
  hostKey: HostKeyPolicy;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One endpoint's connection: opened lazily, reopened after it drops. */
class Link {
  opened = 0;
  private live: Promise<Client> | undefined;
  /** The client `live` resolved to, while it is connected. */
  private connected: Client | undefined;
  private readonly clients = new Set<Client>();

  constructor(
    private readonly pool: SshPool,
    readonly endpoint: Endpoint,
    private readonly via: Link | undefined,
  ) {}

  client(): Promise<Client> {
    if (this.live === undefined) {
      const connecting = this.connectWithRetry();
      this.live = connecting;
      connecting.catch(() => {
        if (this.live === connecting) this.live = undefined;
      });
    }
    return this.live;
  }

  close(): void {
    this.live = undefined;
    this.connected = undefined;
    for (const client of this.clients) client.end();
  }

  /** `client` is gone: the next use opens a new connection. */
  drop(client: Client): void {
    if (this.connected !== client) return;
    this.connected = undefined;
    this.live = undefined;
    client.destroy();
  }

  private async connectWithRetry(): Promise<Client> {
    const retry = this.pool.retry;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.connectOnce();
      } catch (error) {
        const failure = error instanceof SshError ? error : new SshError(this.endpoint.label, "connect", String(error), false);
        if (!failure.retryable) throw failure;
        const delay = backoffDelay(attempt, retry);
        if (Date.now() - started + delay > retry.deadlineMs) {
          const spent = formatMs(Math.round((Date.now() - started) / 100) * 100);
          throw new SshError(failure.host, failure.kind, `${failure.detail} (gave up after ${attempt + 1} attempts in ${spent})`, true);
        }
        await sleep(delay);
      }
    }
  }

  private async connectOnce(): Promise<Client> {
    const { label, host, port } = this.endpoint;
    const sock = this.via === undefined ? undefined : await forward(this.via, label, host, port, this.pool.connectTimeoutMs);
    const check = hostKeyCheck(label, host, port, this.endpoint.hostKey);
    const client = new Client();
    const tried: string[] = [];
    let keyError: SshError | undefined;
    let agentNote: string | undefined;
    return new Promise<Client>((resolve, reject) => {
      let settled = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const fail = (failure: SshError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(failure);
        client.destroy();
        sock?.destroy();
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(
          () => fail(new SshError(label, "connect", `no SSH login within ${formatMs(this.pool.connectTimeoutMs)} (connect, handshake and authentication)`, true)),
          this.pool.connectTimeoutMs,
        );
      };
      client.on("ready", () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.opened++;
        this.clients.add(client);
        this.connected = client;
        // Through a hop, the host's end of the forward (a reboot, sshd gone) reaches us only as
        // the channel's EOF. ssh2 then stops its keep-alive but neither closes the channel nor
        // fails the commands waiting on it, and the jump host's sshd holds its side open until
        // we close ours: close the channel, so that ssh2 sees it close and the link reconnects.
        sock?.once("end", () => sock.destroy());
        resolve(client);
      });
      client.on("error", (error: Error & { level?: string; code?: string }) => {
        if (error.level === "agent") {
          agentNote = `ssh-agent: ${error.message}`;
          return; // ssh2 goes on with the next method
        }
        fail(classify(label, this.endpoint.user, error, check, keyError, tried, agentNote));
      });
      client.on("close", () => {
        this.clients.delete(client);
        if (!settled) fail(classify(label, this.endpoint.user, new Error("the connection closed during the handshake"), check, keyError, tried, agentNote));
        else this.drop(client);
      });
      const authHandler = this.pool.credentials.authHandler(label, this.endpoint.user, tried, (error) => {
        keyError = error;
      });
      arm();
      client.connect({
        host,
        port,
        username: this.endpoint.user,
        ...(sock === undefined ? {} : { sock }),
        hostVerifier: (key: Buffer) => check.verify(key),
        algorithms: { serverHostKey: check.serverHostKeyAlgorithms as ServerHostKeyAlgorithm[] },
        // The passphrase prompt must not count against the connect timeout: pause while it runs.
        authHandler: (methodsLeft, partial, next) => {
          clearTimeout(timer);
          authHandler(methodsLeft, partial, (method) => {
            if (!settled) arm();
            next(method);
          });
        },
        readyTimeout: 0, // the timer above covers connect, handshake and login
        keepaliveInterval: this.pool.keepaliveIntervalMs,
        keepaliveCountMax: this.pool.keepaliveCountMax,
      });
    });
  }
}

/**
 * A channel from the jump hop `via` to host:port, the socket for the next connection. The jump
 * host's own TCP connect may take minutes to fail (a VM that is not up yet): the connect timeout
 * covers it.
 */
async function forward(via: Link, label: string, host: string, port: number, timeoutMs: number): Promise<ClientChannel> {
  const jump = await via.client();
  return new Promise((resolve, reject) => {
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      reject(new SshError(label, "jump", `jump host ${via.endpoint.label} did not reach ${host}:${port} within ${formatMs(timeoutMs)}`, true));
    }, timeoutMs);
    jump.forwardOut("127.0.0.1", 0, host, port, (error, channel) => {
      clearTimeout(timer);
      if (late) {
        channel?.destroy();
        return;
      }
      if (!error) {
        resolve(channel);
        return;
      }
      const reason = (error as Error & { reason?: number }).reason;
      const detail = `jump host ${via.endpoint.label} cannot reach ${host}:${port}: ${error.message.replace(/^\(SSH\) /, "")}`;
      reject(new SshError(label, "jump", detail, reason !== OPEN_ADMINISTRATIVELY_PROHIBITED));
    });
  });
}

function classify(
  label: string,
  user: string,
  error: Error & { level?: string; code?: string },
  check: HostKeyCheck,
  keyError: SshError | undefined,
  tried: readonly string[],
  agentNote: string | undefined,
): SshError {
  const hostKey = check.failure();
  if (hostKey !== undefined) return hostKey;
  if (keyError !== undefined) return keyError;
  if (error.level === "client-authentication") return new SshError(label, "auth", authFailureMessage(user, tried, agentNote), false);
  if (error.code !== undefined && TRANSIENT_SOCKET_CODES.has(error.code)) return new SshError(label, "connect", `cannot connect: ${error.code}`, true);
  if (/closed during the handshake|Connection lost before handshake|Keepalive timeout/i.test(error.message)) {
    return new SshError(label, "connect", error.message, true);
  }
  return new SshError(label, "connect", `SSH handshake failed: ${error.message}`, false);
}

/** A counting semaphore: at most `limit` holders at once. */
class Slots {
  private busy = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.busy >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.busy++;
    try {
      return await work();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.busy--;
      else next();
    }
  }
}

/** Commands and files on one host. */
export class SshHost {
  private readonly slots: Slots;

  constructor(
    private readonly pool: SshPool,
    readonly name: string,
    private readonly link: Link,
  ) {
    this.slots = new Slots(pool.maxChannelsPerHost);
  }

  /** Runs a shell command as root (through `sudo -n` for a non-root login user), within its timeout. */
  exec(command: string, options: ExecOptions = {}): Promise<ExecResult> {
    const description = options.description ?? describeCommand(command);
    const timeoutMs = options.timeoutMs ?? this.pool.commandTimeoutMs;
    const channelOptions = { ...(options.stdin === undefined ? {} : { stdin: options.stdin }), timeoutMs, description };
    const line = remoteCommand(command, this.pool.user, timeoutMs);
    return this.slots.run(async () => {
      const client = await this.link.client();
      try {
        return await runOnChannel(client, this.name, line, channelOptions);
      } catch (error) {
        // The connection died before the command started (no channel opened): safe to run it once
        // more on a new connection. A command that started is never run twice.
        if (!(error instanceof CommandNotStartedError)) throw error;
        this.link.drop(client);
        return runOnChannel(await this.link.client(), this.name, line, channelOptions);
      }
    });
  }

  /** Writes `content` to `path` atomically and checks its SHA-256 (see put.ts). */
  async put(path: string, content: string | Uint8Array, options: PutOptions): Promise<void> {
    const sha256 = sha256Hex(content);
    const result = await this.exec(putScript(path, sha256, options), { stdin: content, description: `put ${path}` });
    if (result.code === PUT_HASH_MISMATCH) {
      throw new SshError(this.name, "put", `put ${path}: the written file does not match what was sent (${result.stderr.trim()}); the old file is unchanged`, false);
    }
    if (result.code !== 0) throw new SshError(this.name, "put", `put ${path} failed (exit ${result.code}): ${result.stderr.trim()}`, false);
    const written = result.stdout.trim();
    if (written !== sha256) throw new SshError(this.name, "put", `put ${path}: the file has sha256 ${written} after the rename, expected ${sha256}`, false);
  }

  /** Connections opened to this host so far (1 on a run without reboots or drops). */
  get connectionsOpened(): number {
    return this.link.opened;
  }
}

function describeCommand(command: string): string {
  const first = command.trim().split("\n")[0] ?? "";
  const more = command.trim().includes("\n") ? " …" : "";
  return first.length > 80 ? `${first.slice(0, 77)}…` : `${first}${more}`;
}

export class SshPool {
  readonly user: string;
  readonly credentials: Credentials;
  readonly retry: ConnectRetry;
  readonly connectTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
  readonly keepaliveCountMax: number;
  readonly maxChannelsPerHost: number;
  private readonly jumps: Link[] = [];
  private readonly hosts = new Map<string, { target: HostTarget; host: SshHost; link: Link }>();

  constructor(options: PoolOptions) {
    this.user = options.user;
    this.credentials = options.credentials;
    this.retry = options.connectRetry ?? DEFAULT_CONNECT_RETRY;
    this.connectTimeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs;
    this.commandTimeoutMs = options.commandTimeoutMs ?? DEFAULTS.commandTimeoutMs;
    this.keepaliveIntervalMs = options.keepaliveIntervalMs ?? DEFAULTS.keepaliveIntervalMs;
    this.keepaliveCountMax = options.keepaliveCountMax ?? DEFAULTS.keepaliveCountMax;
    this.maxChannelsPerHost = options.maxChannelsPerHost ?? DEFAULTS.maxChannelsPerHost;
    let via: Link | undefined;
    for (const hop of options.jumpHosts ?? []) {
      const label = `jump host ${hop.user}@${hop.host}${hop.port === 22 ? "" : `:${hop.port}`}`;
      via = new Link(this, { label, ...hop }, via);
      this.jumps.push(via);
    }
  }

  /** The host `target.name`; nothing connects until its first command. */
  host(target: HostTarget): SshHost {
    const known = this.hosts.get(target.name);
    if (known !== undefined) {
      if (known.target.address !== target.address || (known.target.port ?? 22) !== (target.port ?? 22)) {
        throw new Error(`ssh pool: host ${target.name} was first given as ${known.target.address}, now as ${target.address}`);
      }
      return known.host;
    }
    const endpoint = { label: target.name, user: this.user, host: target.address, port: target.port ?? 22, hostKey: target.hostKey };
    const link = new Link(this, endpoint, this.jumps.at(-1));
    const host = new SshHost(this, target.name, link);
    this.hosts.set(target.name, { target, host, link });
    return host;
  }

  /**
   * A TCP stream to address:port opened from where the hosts are reached: the jump chain's far
   * end when there is one (a forwarded channel on the jump host's existing connection), else
   * this machine. Rejects with the reason (refused, no answer within timeoutMs).
   */
  async openTcp(address: string, port: number, timeoutMs: number): Promise<Duplex> {
    const jump = this.jumps.at(-1);
    if (jump !== undefined) return forward(jump, `${address}:${port}`, address, port, timeoutMs);
    return new Promise<Duplex>((resolve, reject) => {
      const socket = tcpConnect({ host: address, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to ${address}:${port} within ${formatMs(timeoutMs)}`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        socket.removeAllListeners("error");
        resolve(socket);
      });
      socket.once("error", (error: Error & { code?: string }) => {
        clearTimeout(timer);
        reject(new Error(`cannot connect to ${address}:${port}: ${error.code ?? error.message}`));
      });
    });
  }

  /** Whether a service answers at address:port from where the hosts are reached (e.g. the VIP): opens and closes a connection. */
  async connectTcp(address: string, port: number, timeoutMs: number): Promise<void> {
    const stream = await this.openTcp(address, port, timeoutMs);
    stream.destroy();
  }

  /** Connections opened per host and jump hop: the benchmark's "connections per host". */
  connectionsOpened(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const jump of this.jumps) counts[jump.endpoint.label] = jump.opened;
    for (const [name, { link }] of this.hosts) counts[name] = link.opened;
    return counts;
  }

  /** Ends every connection, hosts first, then the jump chain from its far end. */
  close(): void {
    for (const { link } of this.hosts.values()) link.close();
    for (const jump of [...this.jumps].reverse()) jump.close();
  }
}
