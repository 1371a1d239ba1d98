// SSH to the nodes (ssh2, no ssh binary): connection pool with a jump chain, host-key checks,
// agent and key-file login, exec with timeouts, atomic verified file writes. (Batched reads per run live in the cluster run: steps/cluster/context.ts.)

export { authFailureMessage, Credentials } from "./auth.ts";
export type { AuthOptions } from "./auth.ts";
export { CommandNotStartedError, CommandTimeoutError, HostKeyMismatchError, SshError } from "./errors.ts";
export type { SshErrorKind } from "./errors.ts";
export { shellCommand, shellQuote } from "./exec.ts";
export type { ExecResult } from "./exec.ts";
export { jumpChain, parseJumpHosts } from "./jump.ts";
export type { JumpAddress } from "./jump.ts";
export { fingerprint } from "./known-hosts.ts";
export { backoffDelay, DEFAULT_CONNECT_RETRY, SshHost, SshPool } from "./pool.ts";
export type { ConnectRetry, ExecOptions, HostTarget, JumpHop, PoolOptions } from "./pool.ts";
export { sha256Hex } from "./put.ts";
export type { PutOptions } from "./put.ts";
export type { HostKeyPolicy } from "./verify.ts";
