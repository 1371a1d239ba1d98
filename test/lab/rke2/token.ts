// Join tokens as RKE2 (k3s pkg/clientaccess/token.go) parses and formats them:
//   secure: K10<sha256 hex of the cluster CA bundle>::<username>:<password>
//   short:  <password> (no CA hash: the joiner cannot check the CA and k3s only warns)
// The CA hash of a single self-signed CA is the SHA-256 of the PEM bytes the supervisor serves at
// /cacerts (k3s hashCA, the "legacy" case); bundles of several certificates are not modelled.

import { createHash } from "node:crypto";

const PREFIX = "K10";
const CA_HASH_LENGTH = 64;

export interface Token {
  /** Empty for a short token. */
  caHash: string;
  /** Empty for a short token; the caller decides the user (k3s WithUser). */
  username: string;
  password: string;
}

export function hashCA(cacerts: string | Uint8Array): string {
  return createHash("sha256").update(cacerts).digest("hex");
}

/** Throws with k3s's messages: "token must not be empty", "invalid token CA hash length", "invalid token format". */
export function parseToken(raw: string): Token {
  let token = raw;
  if (token.length === 0) throw new Error("token must not be empty");
  // A bare password becomes a K10 token with an empty hash and an empty user, as k3s does.
  if (!token.startsWith(PREFIX)) token = `${PREFIX}:::${token}`;
  token = token.slice(PREFIX.length);
  let caHash = "";
  const separator = token.indexOf("::");
  if (separator >= 0) {
    caHash = token.slice(0, separator);
    if (caHash.length > 0 && caHash.length !== CA_HASH_LENGTH) throw new Error("invalid token CA hash length");
    token = token.slice(separator + 2);
  }
  const colon = token.indexOf(":");
  if (colon < 0 || token.length === colon + 1) throw new Error("invalid token format");
  return { caHash, username: token.slice(0, colon), password: token.slice(colon + 1) };
}

export function formatToken(cacerts: string, username: string, password: string): string {
  return `${PREFIX}${hashCA(cacerts)}::${username}:${password}`;
}

/** k3s validateCAHash: a short token only warns; a full one must match the served bundle. */
export function checkCAHash(token: Token, cacerts: string): { warning?: string } {
  if (token.caHash === "") {
    return {
      warning:
        "Cluster CA certificate is not trusted by the host CA bundle, but the token does not include a CA hash. " +
        "Use the full token from the server's node-token file to enable Cluster CA validation.",
    };
  }
  const served = hashCA(cacerts);
  if (served !== token.caHash) {
    throw new Error(`token CA hash does not match the Cluster CA certificate hash: ${token.caHash} != ${served}`);
  }
  return {};
}
