// Host-key verification for one connection. The caller says what to expect: the keys starbase
// derived for a VM it created (render/hostkeys), or an OpenSSH known_hosts file for hosts it did
// not create (jump hosts), with accept-new only where the spec allows it. ssh2 only learns
// "verification failed"; the check keeps the reason so the pool can raise the real error.
import { HostKeyMismatchError, SshError } from "./errors.ts";
import { appendKnownHost, checkKnownHost, fingerprint, knownKeyTypes, parsePublicKeyLine, readKnownHosts } from "./known-hosts.ts";

export type HostKeyPolicy =
  /** Accept exactly these public keys ("ssh-ed25519 AAAA… [comment]"); source says where they come from. */
  | { kind: "pinned"; publicKeys: readonly string[]; source: string }
  /** Look the host up in an OpenSSH known_hosts file; acceptNew appends a host that is not listed. */
  | { kind: "known-hosts"; file: string; acceptNew: boolean };

export interface HostKeyCheck {
  /** For ssh2's `hostVerifier`: true accepts the key. */
  verify(key: Buffer): boolean;
  /** For ssh2's `algorithms.serverHostKey`: the expected key types first. */
  serverHostKeyAlgorithms: string[];
  /** Why verify() refused, once it has. */
  failure(): SshError | undefined;
  /** The line appended to known_hosts by accept-new, if any. */
  accepted(): string | undefined;
}

const ALGORITHMS_BY_KEY_TYPE: Record<string, string[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"],
};
const ALL_ALGORITHMS = Object.values(ALGORITHMS_BY_KEY_TYPE).flat();

/** Host-key algorithms with those of the expected key types first (as OpenSSH orders them by known_hosts). */
export function preferredAlgorithms(keyTypes: readonly string[]): string[] {
  const first = keyTypes.flatMap((type) => ALGORITHMS_BY_KEY_TYPE[type] ?? []);
  return [...new Set([...first, ...ALL_ALGORITHMS])];
}

/**
 * A check for one connection to `host` (the address dialled) on `port`; `label` names the host
 * in errors (the VM's name, or user@host for a jump hop).
 */
export function hostKeyCheck(label: string, host: string, port: number, policy: HostKeyPolicy): HostKeyCheck {
  let failure: SshError | undefined;
  let accepted: string | undefined;
  if (policy.kind === "pinned") {
    const expected = policy.publicKeys.map((line) => {
      const parsed = parsePublicKeyLine(line);
      if (parsed === undefined) throw new SshError(label, "host-key", `the expected host key (${policy.source}) is not an OpenSSH public key line`, false);
      return parsed;
    });
    return {
      serverHostKeyAlgorithms: preferredAlgorithms(expected.map((key) => key.keyType)),
      verify(key) {
        if (expected.some((candidate) => candidate.key.equals(key))) return true;
        failure = new HostKeyMismatchError(label, expected.map((candidate) => fingerprint(candidate.key)), fingerprint(key), policy.source);
        return false;
      },
      failure: () => failure,
      accepted: () => undefined,
    };
  }
  const read = () => {
    try {
      return readKnownHosts(policy.file);
    } catch (error) {
      throw new SshError(label, "known-hosts", `cannot read known_hosts file ${policy.file}: ${(error as Error).message}`, false);
    }
  };
  const file = read();
  return {
    serverHostKeyAlgorithms: preferredAlgorithms(knownKeyTypes(file, host, port)),
    verify(key) {
      const verdict = checkKnownHost(file, host, port, key);
      switch (verdict.kind) {
        case "known":
          return true;
        case "revoked":
          failure = new SshError(label, "host-key", `the host presented ${fingerprint(key)}, which ${policy.file}:${verdict.line} marks @revoked; refusing to connect`, false);
          return false;
        case "changed":
          failure = new HostKeyMismatchError(label, verdict.expected, fingerprint(key), `${policy.file}:${verdict.lines.join(",")}`);
          return false;
        case "unknown":
          if (policy.acceptNew && verdict.certAuthorityLines.length === 0) {
            try {
              accepted = appendKnownHost(policy.file, host, port, key);
            } catch (error) {
              failure = new SshError(label, "known-hosts", `cannot add the host key to ${policy.file}: ${(error as Error).message}`, false);
              return false;
            }
            return true;
          }
          failure = new SshError(label, "host-key", unknownHostMessage(policy.file, host, port, key, verdict.certAuthorityLines), false);
          return false;
      }
    },
    failure: () => failure,
    accepted: () => accepted,
  };
}

function unknownHostMessage(file: string, host: string, port: number, key: Buffer, certAuthorityLines: number[]): string {
  const scan = port === 22 ? `ssh-keyscan ${host}` : `ssh-keyscan -p ${port} ${host}`;
  const lead = `the host's key ${fingerprint(key)} is not in ${file}`;
  if (certAuthorityLines.length > 0) {
    return `${lead}; only @cert-authority lines name it (${file}:${certAuthorityLines.join(",")}), and starbase does not verify host certificates: add the host key itself (check its fingerprint, then ${scan} >> ${file})`;
  }
  return `${lead}: check the fingerprint out of band and add it (${scan} >> ${file}), or set ssh.acceptNewHostKeys: true to trust it on first use`;
}
