// Every failure of the SSH layer names the host it happened on and says whether trying again
// can help: the engine retries only what is retryable (a VM still booting, a dropped
// connection), never a host-key mismatch or a refused login.

export type SshErrorKind =
  | "connect" // TCP connect or handshake failed: refused, no route, timeout (the VM may be booting)
  | "connection-lost" // an established connection dropped (reboot, network)
  | "host-key" // the host presented a key other than the expected one, or none is known
  | "auth" // every authentication method was refused
  | "key" // a private key file could not be read or decrypted
  | "timeout" // a command ran longer than its timeout
  | "output" // a command printed more than the layer keeps
  | "put" // a file write did not verify
  | "known-hosts" // the known_hosts file could not be read or written
  | "jump"; // a jump host could not open the forward to the next hop

export class SshError extends Error {
  constructor(
    readonly host: string,
    readonly kind: SshErrorKind,
    /** The message without the host. */
    readonly detail: string,
    readonly retryable: boolean,
  ) {
    super(`${host}: ${detail}`);
    this.name = "SshError";
  }
}

/** The host's key is not the one starbase expects: never retried, the host is stopped. */
export class HostKeyMismatchError extends SshError {
  constructor(
    host: string,
    /** SHA256:… fingerprints of the keys that would have been accepted. */
    readonly expected: readonly string[],
    /** SHA256:… fingerprint of the key the host presented. */
    readonly actual: string,
    source: string,
  ) {
    super(
      host,
      "host-key",
      `host key mismatch: the host presented ${actual}, expected ${expected.join(" or ")} (${source}); ` +
        "refusing to connect (someone may be intercepting the connection, or the host was reinstalled)",
      false,
    );
    this.name = "HostKeyMismatchError";
  }
}

/** A command did not finish within its timeout; the remote process was signalled and its channel closed. */
export class CommandTimeoutError extends SshError {
  constructor(
    host: string,
    readonly command: string,
    readonly timeoutMs: number,
  ) {
    super(host, "timeout", `command timed out after ${formatMs(timeoutMs)}: ${command}`, true);
    this.name = "CommandTimeoutError";
  }
}

export function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** The connection was gone before the command's channel opened: the command did not run. */
export class CommandNotStartedError extends SshError {
  constructor(host: string, detail: string) {
    super(host, "connection-lost", detail, true);
    this.name = "CommandNotStartedError";
  }
}
