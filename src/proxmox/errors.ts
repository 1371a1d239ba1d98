// What can go wrong when talking to the Proxmox VE API, sorted by what a caller should do
// about it. Messages never contain credentials: they are built only from the method, the
// API path, the HTTP status and the server's own text.

export type HttpMethod = "GET" | "POST" | "PUT" | "DELETE";

interface ErrorContext {
  method: HttpMethod;
  path: string;
  status?: number;
  reason: string;
  cause?: unknown;
}

export class ProxmoxError extends Error {
  /** HTTP status; undefined when no response arrived (transport, TLS, task failures). */
  readonly status: number | undefined;
  readonly method: HttpMethod;
  /** API path below /api2/json, without the query string. */
  readonly path: string;
  /** The server's human text (body `message`, else the HTTP reason phrase), or the transport failure. */
  readonly reason: string;
  readonly retryable: boolean = false;

  constructor(ctx: ErrorContext, message?: string) {
    super(message ?? `Proxmox API ${ctx.method} ${ctx.path} failed: ${statusPrefix(ctx.status)}${ctx.reason}`,
      ctx.cause === undefined ? undefined : { cause: ctx.cause });
    this.name = new.target.name;
    this.status = ctx.status;
    this.method = ctx.method;
    this.path = ctx.path;
    this.reason = ctx.reason;
  }
}

/** 401: the token was refused. */
export class AuthError extends ProxmoxError {
  constructor(ctx: ErrorContext) {
    super(ctx, `Proxmox API ${ctx.method} ${ctx.path}: authentication failed (${statusPrefix(ctx.status)}${ctx.reason}); `
      + "check the API token id and secret, and that the token is neither expired nor disabled");
  }
}

/** 403: the token lacks a privilege. `aclPath`/`privileges` are parsed from "Permission check failed (/vms/100, VM.Allocate)". */
export class PermissionError extends ProxmoxError {
  readonly aclPath: string | undefined;
  readonly privileges: readonly string[];

  constructor(ctx: ErrorContext) {
    const check = /Permission check failed \(([^,()]+),\s*([^)]+)\)/.exec(ctx.reason);
    const aclPath = check?.[1]?.trim();
    const privileges = check?.[2]?.trim().split(/\s/)[0]?.split("|").filter((p) => p !== "") ?? [];
    const missing = aclPath !== undefined && privileges.length > 0
      ? `; the token needs ${privileges.join(" or ")} on ${aclPath}` : "";
    super(ctx, `Proxmox API ${ctx.method} ${ctx.path}: permission denied (${statusPrefix(ctx.status)}${ctx.reason})${missing}`);
    this.aclPath = aclPath;
    this.privileges = privileges;
  }
}

/** The object or the API path does not exist (PVE answers 500 for missing VMs, 501 for unknown paths). */
export class NotFoundError extends ProxmoxError {}

/** A VM or storage lock could not be taken in time; the same call may well succeed a little later. */
export class LockTimeoutError extends ProxmoxError {
  override readonly retryable = true;
}

/**
 * The request or its connection failed on the way (proxy pseudo-statuses 595–599, gateway
 * errors, reset/refused/dropped connections, timeouts). `outcomeUnknown` is set when a
 * mutating request may have reached the server: observe state before sending it again.
 */
export class TransientError extends ProxmoxError {
  override readonly retryable = true;
  readonly outcomeUnknown: boolean;

  constructor(ctx: ErrorContext & { outcomeUnknown: boolean }, message?: string) {
    super(ctx, message);
    this.outcomeUnknown = ctx.outcomeUnknown;
  }
}

/** 400: Proxmox rejected parameters; `errors` maps each parameter to its complaint. Never retryable. */
export class ParameterError extends ProxmoxError {
  readonly errors: Readonly<Record<string, string>>;

  constructor(ctx: ErrorContext & { errors: Record<string, string> }) {
    const listed = Object.entries(ctx.errors).map(([param, text]) => `${param}: ${text}`);
    super(ctx, `Proxmox API ${ctx.method} ${ctx.path} rejected its parameters (${statusPrefix(ctx.status)}${ctx.reason})`
      + (listed.length > 0 ? `: ${listed.join("; ")}` : ""));
    this.errors = ctx.errors;
  }
}

/** The server's certificate is not trusted (unknown CA, wrong fingerprint, handshake failure). No request was sent. */
export class TlsError extends ProxmoxError {}

/** A task ended with an error. `logTail` holds the last lines of its log. */
export class TaskError extends ProxmoxError {
  override readonly retryable: boolean;
  readonly upid: string;
  readonly exitstatus: string;
  readonly logTail: readonly string[];

  constructor(ctx: ErrorContext & { upid: string; taskLabel: string; exitstatus: string; logTail: string[] }) {
    const context = ctx.logTail.filter((line) => !line.startsWith("TASK ERROR:")).slice(-TASK_MESSAGE_LINES);
    super(ctx, `Proxmox task ${ctx.taskLabel} failed: ${ctx.exitstatus}`
      + (context.length > 0 ? `\n  ${context.join("\n  ")}` : ""));
    this.upid = ctx.upid;
    this.exitstatus = ctx.exitstatus;
    this.logTail = ctx.logTail;
    this.retryable = isLockTimeoutText(ctx.exitstatus);
  }
}

/** A task was still running when waitTask's timeout ran out; it was left running. */
export class TaskTimeoutError extends ProxmoxError {
  readonly upid: string;

  constructor(ctx: ErrorContext & { upid: string; taskLabel: string; timeoutMs: number }) {
    super(ctx, `Proxmox task ${ctx.taskLabel} still running after ${ctx.timeoutMs} ms (${ctx.upid})`);
    this.upid = ctx.upid;
  }
}

const TASK_MESSAGE_LINES = 5;

/** True for errors worth retrying unchanged: lock timeouts, transient transport failures, lock-timeout task errors. */
export function isRetryable(err: unknown): boolean {
  return err instanceof ProxmoxError && err.retryable;
}

function statusPrefix(status: number | undefined): string {
  return status === undefined ? "" : `${status} `;
}

const LOCK_TIMEOUT = /got timeout|can't lock file|VM is locked|lock request timeout/i;
const NOT_FOUND = /does not exist|no such|not found/i;
// AnyEvent::HTTP pseudo-statuses for forwarded calls, and gateways in front of pveproxy.
const TRANSIENT_STATUSES = new Set([502, 503, 504, 595, 596, 597, 598, 599]);

function isLockTimeoutText(text: string): boolean {
  return LOCK_TIMEOUT.test(text);
}

interface ErrorBody {
  message?: unknown;
  errors?: unknown;
}

/** The error for a non-2xx response. The text is the body `message` (PVE ≥ 8.4) or else the reason phrase. */
export function errorFromResponse(res: { method: HttpMethod; path: string; status: number; statusText: string; body: string }): ProxmoxError {
  const body = parseErrorBody(res.body);
  const reason = humanText(typeof body.message === "string" ? body.message : "")
    || humanText(res.statusText) || `HTTP ${res.status}`;
  const ctx: ErrorContext = { method: res.method, path: res.path, status: res.status, reason };
  if (res.status === 401) return new AuthError(ctx);
  if (res.status === 403) return new PermissionError(ctx);
  if (res.status === 400) return new ParameterError({ ...ctx, errors: parameterErrors(body.errors) });
  if (TRANSIENT_STATUSES.has(res.status)) return new TransientError({ ...ctx, outcomeUnknown: res.method !== "GET" });
  if (isLockTimeoutText(reason)) return new LockTimeoutError(ctx);
  if (NOT_FOUND.test(reason) || (res.status === 501 && /not implemented/i.test(reason))) return new NotFoundError(ctx);
  return new ProxmoxError(ctx);
}

function parseErrorBody(text: string): ErrorBody {
  try {
    const parsed: unknown = JSON.parse(text);
    return typeof parsed === "object" && parsed !== null ? parsed : {};
  } catch {
    return {};
  }
}

function parameterErrors(errors: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof errors !== "object" || errors === null) return out;
  for (const [param, text] of Object.entries(errors)) out[param] = humanText(String(text));
  return out;
}

/** Trims the text and drops the Perl source location PVE appends to `die` texts without a newline. */
function humanText(text: string): string {
  return text.trim().replace(/ at \/usr\/share\/perl5\/\S+ line \d+\.?$/, "").trim();
}

// Connection failures after which a request may have been processed by the server.
const SENT_MAYBE = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "ECONNABORTED"]);
// Connection failures before anything was sent.
const NOT_SENT = new Set(["ECONNREFUSED", "UND_ERR_CONNECT_TIMEOUT", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
const CERTIFICATE_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;
const HANDSHAKE_CODE = /^ERR_SSL_|^ERR_TLS_/;
/** Set on the error with which the pinning connector refuses a certificate. */
export const PIN_MISMATCH_CODE = "ERR_STARBASE_TLS_PIN_MISMATCH";

/** The error for a request that got no HTTP response. */
export function errorFromTransport(err: unknown, req: { method: HttpMethod; path: string; origin: string }): ProxmoxError {
  const code = errorCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  const ctx = { method: req.method, path: req.path, reason: code === undefined ? detail : `${code}: ${detail}`, cause: err };
  if (code === PIN_MISMATCH_CODE) return new TlsError(ctx, `Proxmox API ${req.method} ${req.path}: ${detail}`);
  if (code !== undefined && CERTIFICATE_CODE.test(code)) {
    return new TlsError(ctx, `Proxmox API ${req.method} ${req.path}: TLS certificate of ${req.origin} is not trusted `
      + `(${ctx.reason}); configure the CA that signed it or pin its SHA-256 fingerprint. No request was sent.`);
  }
  if (code !== undefined && HANDSHAKE_CODE.test(code)) {
    return new TlsError(ctx, `Proxmox API ${req.method} ${req.path}: TLS handshake with ${req.origin} failed (${ctx.reason}); `
      + "is it the Proxmox API port? No request was sent.");
  }
  if (code !== undefined && (SENT_MAYBE.has(code) || NOT_SENT.has(code))) {
    return new TransientError({ ...ctx, outcomeUnknown: req.method !== "GET" && SENT_MAYBE.has(code) },
      `Proxmox API ${req.method} ${req.path}: connection to ${req.origin} failed (${ctx.reason})`);
  }
  return new ProxmoxError(ctx, `Proxmox API ${req.method} ${req.path}: request to ${req.origin} failed (${ctx.reason})`);
}

/** A request that took longer than the client's requestTimeoutMs. */
export function requestTimeoutError(req: { method: HttpMethod; path: string; origin: string }, timeoutMs: number): TransientError {
  return new TransientError({ method: req.method, path: req.path, reason: `no response within ${timeoutMs} ms`, outcomeUnknown: req.method !== "GET" },
    `Proxmox API ${req.method} ${req.path}: ${req.origin} did not answer within ${timeoutMs} ms`);
}

function errorCode(err: unknown): string | undefined {
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string") return code;
  return errorCode((err as { cause?: unknown }).cause);
}
