// ssh.jumpHost as OpenSSH's ProxyJump: hops `user@host[:port]` separated by commas, in the order
// the connection passes them. The spec's schema already checked the syntax; this splits it.
import type { JumpHop } from "./pool.ts";

export interface JumpAddress {
  user: string;
  host: string;
  port: number;
}

const HOP = /^(?:([^@\s,]+)@)?(\[[0-9A-Fa-f:.]+\]|[^@\s,:[\]]+)(?::(\d{1,5}))?$/;

/** "ops@bastion,inner:2222" → hops; a hop without `user@` logs in as defaultUser. Throws on a malformed hop. */
export function parseJumpHosts(chain: string, defaultUser: string): JumpAddress[] {
  return chain.split(",").map((hop) => {
    const match = HOP.exec(hop);
    const port = Number(match?.[3] ?? 22);
    if (match === null || port < 1 || port > 65535) throw new Error(`jump host "${hop}" is not user@host[:port]`);
    const host = match[2] ?? "";
    return { user: match[1] ?? defaultUser, host: host.startsWith("[") ? host.slice(1, -1) : host, port };
  });
}

/**
 * The pool's jump chain for ssh.jumpHost: every hop is verified against the known_hosts file
 * (starbase did not create it), with accept-new only when the spec says so.
 */
export function jumpChain(chain: string | undefined, defaultUser: string, knownHosts: { file: string; acceptNew: boolean }): JumpHop[] {
  if (chain === undefined) return [];
  return parseJumpHosts(chain, defaultUser).map((hop) => ({ ...hop, hostKey: { kind: "known-hosts", file: knownHosts.file, acceptNew: knownHosts.acceptNew } }));
}
