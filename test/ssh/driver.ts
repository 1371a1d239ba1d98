// A client process for the lab tests: it runs inside the lab's control namespace (the only
// place that reaches the lab networks), holds one SshPool, and answers JSON-line requests on
// stdin so a test can interleave its calls with things done to the hosts (a reboot).
//   bun test/ssh/driver.ts '<DriverConfig JSON>'
//   → {"id":1,"op":"exec","host":"node1","command":"hostname"}
//   ← {"id":1,"ok":true,"value":{"code":0,"stdout":"node1\n","stderr":""},"ms":12.3}
import { Credentials } from "../../src/ssh/auth.ts";
import { SshError } from "../../src/ssh/errors.ts";
import { type ConnectRetry, type HostTarget, type JumpHop, SshPool } from "../../src/ssh/pool.ts";
import type { PutOptions } from "../../src/ssh/put.ts";

export interface DriverConfig {
  user: string;
  agentSocket?: string;
  privateKeyFile?: string;
  /** Test only: the passphrase the callback returns (a run gets it from a secret reference or a prompt). */
  passphrase?: string;
  jumpHosts?: JumpHop[];
  hosts: HostTarget[];
  connectTimeoutMs?: number;
  commandTimeoutMs?: number;
  keepaliveIntervalMs?: number;
  connectRetry?: ConnectRetry;
  maxChannelsPerHost?: number;
}

export type DriverRequest =
  | { id: number; op: "exec"; host: string; command: string; stdin?: string; timeoutMs?: number }
  | { id: number; op: "put"; host: string; path: string; content: string; options: PutOptions }
  | { id: number; op: "connectTcp"; address: string; port: number; timeoutMs: number }
  | { id: number; op: "connections" }
  | { id: number; op: "passphraseAsked" };

export type DriverResponse =
  | { id: number; ok: true; value: unknown; ms: number }
  | { id: number; ok: false; error: { name: string; message: string; kind?: string; retryable?: boolean; host?: string }; ms: number };

const config = JSON.parse(process.argv[2] ?? "{}") as DriverConfig;
let passphraseAsked = 0;
const credentials = new Credentials({
  ...(config.agentSocket === undefined ? {} : { agentSocket: config.agentSocket }),
  ...(config.privateKeyFile === undefined ? {} : { privateKeyFile: config.privateKeyFile }),
  ...(config.passphrase === undefined ? {} : { passphrase: async () => (passphraseAsked++, config.passphrase) }),
});
const pool = new SshPool({
  user: config.user,
  credentials,
  ...(config.jumpHosts === undefined ? {} : { jumpHosts: config.jumpHosts }),
  ...(config.connectTimeoutMs === undefined ? {} : { connectTimeoutMs: config.connectTimeoutMs }),
  ...(config.commandTimeoutMs === undefined ? {} : { commandTimeoutMs: config.commandTimeoutMs }),
  ...(config.keepaliveIntervalMs === undefined ? {} : { keepaliveIntervalMs: config.keepaliveIntervalMs }),
  ...(config.connectRetry === undefined ? {} : { connectRetry: config.connectRetry }),
  ...(config.maxChannelsPerHost === undefined ? {} : { maxChannelsPerHost: config.maxChannelsPerHost }),
});
const hosts = new Map(config.hosts.map((target) => [target.name, pool.host(target)]));

function host(name: string) {
  const found = hosts.get(name);
  if (found === undefined) throw new Error(`driver: no host ${name}`);
  return found;
}

async function handle(request: DriverRequest): Promise<unknown> {
  switch (request.op) {
    case "exec":
      return host(request.host).exec(request.command, {
        ...(request.stdin === undefined ? {} : { stdin: request.stdin }),
        ...(request.timeoutMs === undefined ? {} : { timeoutMs: request.timeoutMs }),
      });
    case "put":
      return host(request.host).put(request.path, request.content, request.options);
    case "connectTcp":
      return pool.connectTcp(request.address, request.port, request.timeoutMs);
    case "connections":
      return pool.connectionsOpened();
    case "passphraseAsked":
      return passphraseAsked;
  }
}

function reply(response: DriverResponse): void {
  process.stdout.write(`${JSON.stringify(response)}\n`);
}

let buffered = "";
const decoder = new TextDecoder();
for await (const chunk of Bun.stdin.stream()) {
  buffered += decoder.decode(chunk, { stream: true });
  for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
    const line = buffered.slice(0, newline);
    buffered = buffered.slice(newline + 1);
    if (line.trim() === "") continue;
    const request = JSON.parse(line) as DriverRequest;
    const started = performance.now();
    handle(request).then(
      (value) => reply({ id: request.id, ok: true, value: value ?? null, ms: performance.now() - started }),
      (error: unknown) => {
        const e = error as Error;
        const details = e instanceof SshError ? { kind: e.kind, retryable: e.retryable, host: e.host } : {};
        reply({ id: request.id, ok: false, error: { name: e.name, message: e.message, ...details }, ms: performance.now() - started });
      },
    );
  }
}
pool.close();
