// Proxmox VE REST client over the npm undici package. Under Bun a bare `import "undici"`
// resolves to Bun's built-in stand-in, whose Agent ignores TLS connect options (no CA, no
// pinning); importing the package file loads the real one.

import * as undici from "undici/index.js";
import { type Params, apiPath, encodeParams, isEncodedApiPath } from "./encode.ts";
import {
  type HttpMethod, ParameterError, ProxmoxError, TaskError, TaskTimeoutError, TransientError,
  errorFromResponse, errorFromTransport, requestTimeoutError,
} from "./errors.ts";
import { type UploadChecksum, type UploadContent, buildUploadBody } from "./multipart.ts";
import { type TlsTrust, connectOption } from "./tls.ts";
import { type Upid, parseUpid } from "./upid.ts";

export interface ProxmoxOptions {
  /** https://host:8006 */
  endpoint: string;
  /** user@realm!tokenid */
  tokenId: string;
  tokenSecret: string;
  /** How to trust the server's certificate; absent → the system trust store. */
  tls?: TlsTrust;
  /** Per request, connection set-up included. Default 30 000 (pveproxy's own forwarding limit). */
  requestTimeoutMs?: number;
  /** First task poll interval; grows to twelve times this for long tasks. Default 250. */
  taskPollMs?: number;
}

/** GET /nodes/{node}/tasks/{upid}/status */
export interface TaskStatus {
  upid: string;
  node: string;
  type: string;
  id?: string;
  user: string;
  status: "running" | "stopped";
  /** Only once stopped: "OK", "WARNINGS: <n>" or the error text. */
  exitstatus?: string;
  starttime: number;
}

export interface TaskResult {
  exitstatus: string;
  warnings: number;
}

export interface WaitTaskOptions {
  /** Give up (the task keeps running) after this long; default: wait as long as it runs. */
  timeoutMs?: number;
  signal?: AbortSignal;
  onProgress?: (status: TaskStatus) => void;
}

interface Envelope {
  data: unknown;
  total?: unknown;
}

const API_BASE = "/api2/json";
// pveproxy closes idle connections after 5 s; reusing one it is closing fails the request.
const KEEP_ALIVE_MS = 4_000;
// pve-userid (the user part may itself contain "@", e.g. e-mail names in OpenID realms) + "!" + token name.
const TOKEN_ID = /^[^\s:/]+@[A-Za-z][A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]+$/;

/** The server reads the header up to ";", URL-unescapes it and splits at the last "="; a secret is a UUID. */
export function isUsableTokenSecret(secret: string): boolean {
  return /^[^\s;%=]+$/.test(secret);
}
// Right after dispatch a task's status can briefly be unknown ("no such task", 400).
const EARLY_POLLS_TOLERATING_400 = 5;
// Consecutive failed polls tolerated (node proxy hiccups, 596/599) before giving up.
const TOLERATED_POLL_FAILURES = 10;
// Most VM tasks (config, resize, start) end within a second, and each one sits on the critical
// path of a VM: poll them quickly, then back off so a long download or import costs few requests.
const POLLS_BEFORE_BACKOFF = 4;
const BACKOFF_LIMIT = 12;
const LOG_TAIL_LINES = 20;
const MIB = 1024 * 1024;

export class ProxmoxClient {
  readonly endpoint: string;
  readonly tokenId: string;
  readonly #authorization: string;
  readonly #pool: undici.Pool;
  readonly #requestTimeoutMs: number;
  readonly #taskPollMs: number;
  #closing: Promise<void> | undefined;

  constructor(options: ProxmoxOptions) {
    this.endpoint = originOf(options.endpoint);
    if (!TOKEN_ID.test(options.tokenId)) {
      throw new TypeError(`tokenId ${JSON.stringify(options.tokenId)} is not of the form user@realm!tokenid`);
    }
    if (!isUsableTokenSecret(options.tokenSecret)) {
      throw new TypeError("tokenSecret is empty or contains whitespace, ';', '%' or '='");
    }
    this.tokenId = options.tokenId;
    this.#authorization = `PVEAPIToken=${options.tokenId}=${options.tokenSecret}`;
    this.#requestTimeoutMs = positive("requestTimeoutMs", options.requestTimeoutMs ?? 30_000);
    this.#taskPollMs = positive("taskPollMs", options.taskPollMs ?? 250);
    this.#pool = new undici.Pool(this.endpoint, {
      connect: connectOption(options.tls, this.#requestTimeoutMs),
      keepAliveTimeout: KEEP_ALIVE_MS,
      keepAliveMaxTimeout: KEEP_ALIVE_MS,
    });
  }

  get<T>(path: string, params?: Params): Promise<T> {
    return this.#data<T>("GET", path, params);
  }

  post<T>(path: string, params?: Params): Promise<T> {
    return this.#data<T>("POST", path, params);
  }

  put<T>(path: string, params?: Params): Promise<T> {
    return this.#data<T>("PUT", path, params);
  }

  delete<T>(path: string, params?: Params): Promise<T> {
    return this.#data<T>("DELETE", path, params);
  }

  /**
   * Uploads a file to a storage (iso, import or vztmpl content); resolves to the UPID of the
   * copy task. The request may take requestTimeoutMs plus one second per MiB.
   */
  async upload(node: string, storage: string, content: UploadContent, filename: string, data: Uint8Array,
    checksum?: UploadChecksum): Promise<string> {
    const path = apiPath`/nodes/${node}/storage/${storage}/upload`;
    const { body, contentType } = buildUploadBody(checksum === undefined
      ? { content, filename, data } : { content, filename, data, checksum });
    const envelope = await this.#request("POST", path, {
      body,
      headers: { "content-type": contentType, "content-length": String(body.byteLength) },
      timeoutMs: this.#requestTimeoutMs + Math.ceil(body.byteLength / MIB) * 1_000,
    });
    return this.#upidOf("POST", path, envelope.data);
  }

  /**
   * Polls a task until it stops. Resolves for "OK" and "WARNINGS: n"; otherwise throws a
   * TaskError with the end of the task log. Never dispatches anything again: failed polls
   * are retried, the task itself is not.
   */
  async waitTask(upid: string, opts: WaitTaskOptions = {}): Promise<TaskResult> {
    const task = parseUpid(upid);
    if (task === undefined) throw new TypeError(`not a Proxmox task id (UPID): ${JSON.stringify(upid)}`);
    const statusPath = apiPath`/nodes/${task.node}/tasks/${upid}/status`;
    const deadline = opts.timeoutMs === undefined ? undefined : Date.now() + opts.timeoutMs;
    let interval = this.#taskPollMs;
    let failures = 0;
    for (let poll = 0; ; poll++) {
      opts.signal?.throwIfAborted();
      let status: TaskStatus | undefined;
      try {
        status = taskStatusOf((await this.#request("GET", statusPath, { signal: opts.signal })).data, statusPath);
        failures = 0;
      } catch (err) {
        opts.signal?.throwIfAborted();
        const early400 = err instanceof ParameterError && poll < EARLY_POLLS_TOLERATING_400;
        if (!(early400 || err instanceof TransientError) || ++failures > TOLERATED_POLL_FAILURES) throw err;
      }
      if (status !== undefined) {
        opts.onProgress?.(status);
        if (status.status === "stopped") return this.#taskOutcome(upid, task, statusPath, status.exitstatus ?? "", opts.signal);
      }
      if (deadline !== undefined && Date.now() + interval > deadline) {
        throw new TaskTimeoutError({ method: "GET", path: statusPath, reason: "task still running", upid,
          taskLabel: taskLabel(task), timeoutMs: opts.timeoutMs ?? 0 });
      }
      await sleep(interval, opts.signal);
      if (poll >= POLLS_BEFORE_BACKOFF) interval = Math.min(interval * 1.5, this.#taskPollMs * BACKOFF_LIMIT);
    }
  }

  /** Closes idle connections after in-flight requests finish; later calls are no-ops. */
  close(): Promise<void> {
    this.#closing ??= this.#pool.close();
    return this.#closing;
  }

  toJSON(): { endpoint: string; tokenId: string } {
    return { endpoint: this.endpoint, tokenId: this.tokenId };
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `ProxmoxClient { endpoint: ${this.endpoint}, tokenId: ${this.tokenId} }`;
  }

  async #taskOutcome(upid: string, task: Upid, statusPath: string, exitstatus: string, signal?: AbortSignal): Promise<TaskResult> {
    if (exitstatus === "OK") return { exitstatus, warnings: 0 };
    const warnings = /^WARNINGS: (\d+)$/.exec(exitstatus);
    if (warnings?.[1] !== undefined) return { exitstatus, warnings: Number(warnings[1]) };
    throw new TaskError({ method: "GET", path: statusPath, reason: exitstatus, upid, taskLabel: taskLabel(task),
      exitstatus, logTail: await this.#logTail(upid, task.node, signal) });
  }

  /** The last lines of a task's log; empty when the log cannot be read (the task error matters more). */
  async #logTail(upid: string, node: string, signal?: AbortSignal): Promise<string[]> {
    const path = apiPath`/nodes/${node}/tasks/${upid}/log`;
    const read = async (start: number) => {
      const envelope = await this.#request("GET", path, { params: { start, limit: LOG_TAIL_LINES }, signal });
      return { lines: logLines(envelope.data), total: typeof envelope.total === "number" ? envelope.total : 0 };
    };
    try {
      const head = await read(0);
      return head.total > LOG_TAIL_LINES ? (await read(head.total - LOG_TAIL_LINES)).lines : head.lines;
    } catch {
      signal?.throwIfAborted();
      return [];
    }
  }

  #upidOf(method: HttpMethod, path: string, data: unknown): string {
    if (typeof data === "string" && parseUpid(data) !== undefined) return data;
    throw new ProxmoxError({ method, path, status: 200, reason: "expected a task id (UPID) in the response" });
  }

  async #data<T>(method: HttpMethod, path: string, params: Params | undefined): Promise<T> {
    const encoded = encodeParams(params);
    const envelope = method === "GET" || method === "DELETE" || encoded === ""
      ? await this.#request(method, path, { params })
      : await this.#request(method, path, {
        body: encoded,
        headers: { "content-type": "application/x-www-form-urlencoded" },
      });
    return envelope.data as T;
  }

  async #request(method: HttpMethod, path: string, req: {
    params?: Params;
    body?: string | Uint8Array;
    headers?: Record<string, string>;
    signal?: AbortSignal | undefined;
    timeoutMs?: number;
  }): Promise<Envelope> {
    if (!isEncodedApiPath(path)) {
      throw new TypeError(`API path ${JSON.stringify(path)} must start with "/" and be percent-encoded (build it with apiPath)`);
    }
    const query = encodeParams(req.params);
    const site = { method, path, origin: this.endpoint };
    const timeoutMs = req.timeoutMs ?? this.#requestTimeoutMs;
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort(), timeoutMs);
    const signal = req.signal === undefined ? timeout.signal : AbortSignal.any([timeout.signal, req.signal]);
    try {
      const res = await this.#pool.request({
        method,
        path: API_BASE + path + (query === "" ? "" : `?${query}`),
        headers: { ...req.headers, authorization: this.#authorization },
        body: req.body ?? null,
        signal,
      });
      const text = await res.body.text();
      if (res.statusCode < 200 || res.statusCode > 299) {
        throw errorFromResponse({ method, path, status: res.statusCode, statusText: res.statusText, body: text });
      }
      return parseEnvelope(text, method, path, res.statusCode);
    } catch (err) {
      if (err instanceof ProxmoxError) throw err;
      req.signal?.throwIfAborted();
      if (timeout.signal.aborted) throw requestTimeoutError(site, timeoutMs);
      throw errorFromTransport(err, site);
    } finally {
      clearTimeout(timer);
    }
  }
}

function parseEnvelope(text: string, method: HttpMethod, path: string, status: number): Envelope {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null && "data" in parsed) return parsed as Envelope;
  } catch {
    // reported below
  }
  throw new ProxmoxError({ method, path, status, reason: "the response is not a Proxmox JSON envelope ({\"data\": …})" });
}

function taskStatusOf(data: unknown, path: string): TaskStatus {
  const state = typeof data === "object" && data !== null ? (data as { status?: unknown }).status : undefined;
  if (state === "running" || state === "stopped") return data as TaskStatus;
  throw new ProxmoxError({ method: "GET", path, status: 200, reason: "the task status response has no running/stopped status" });
}

function logLines(data: unknown): string[] {
  if (!Array.isArray(data)) return [];
  return data
    .filter((line): line is { n: number; t: string } => typeof line?.n === "number" && typeof line?.t === "string")
    .sort((a, b) => a.n - b.n)
    .map((line) => line.t);
}

function taskLabel(task: Upid): string {
  return `${task.type}${task.id === "" ? "" : ` ${task.id}`} on ${task.node}`;
}

function originOf(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError(`endpoint ${JSON.stringify(endpoint)} is not a URL (expected https://host:8006)`);
  }
  if (url.protocol !== "https:" || url.username !== "" || url.password !== "" || (url.pathname !== "/" && url.pathname !== "")
    || url.search !== "" || url.hash !== "") {
    throw new TypeError(`endpoint ${JSON.stringify(url.origin)} must be https://host[:port] with no path, query or credentials`);
  }
  return url.origin;
}

function positive(name: string, value: number): number {
  if (!Number.isFinite(value) || value <= 0) throw new TypeError(`${name} must be a positive number of milliseconds`);
  return value;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
