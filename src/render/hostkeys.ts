import { createHash, createHmac, createPrivateKey, createPublicKey } from "node:crypto";
import type { Inventory } from "../inventory/types.ts";

// Every VM's SSH host key is derived from one secret, so starbase knows the key before the VM
// first boots (no trust on first use) and a re-run renders the same key without keeping state.

const KEY_TYPE = "ssh-ed25519";
/** PKCS#8 DER header of an Ed25519 private key (RFC 8410); the 32-byte seed follows it. */
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");
const OPENSSH_MAGIC = Buffer.from("openssh-key-v1\0", "latin1");
/** Cipher "none" pads the private section to this block size. */
const UNENCRYPTED_BLOCK_SIZE = 8;
const PEM_LINE_LENGTH = 70;

export interface HostKey {
  privateKey: string; // OpenSSH "openssh-key-v1" PEM, unencrypted
  publicKey: string; // "ssh-ed25519 AAAA… host"
}

function uint32(value: number): Buffer {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out;
}

/** The SSH wire format's length-prefixed string (RFC 4251 §5). */
function sshString(data: Buffer | string): Buffer {
  const body = typeof data === "string" ? Buffer.from(data, "utf8") : data;
  return Buffer.concat([uint32(body.length), body]);
}

function hostKeySeed(secret: string, cluster: string, host: string): Buffer {
  return createHmac("sha256", secret).update(`starbase/hostkey/v1/${cluster}/${host}`).digest();
}

function ed25519PublicKey(seed: Buffer): Buffer {
  const privateKey = createPrivateKey({
    key: Buffer.concat([ED25519_PKCS8_PREFIX, seed]),
    format: "der",
    type: "pkcs8",
  });
  const jwk = createPublicKey(privateKey).export({ format: "jwk" });
  if (typeof jwk.x !== "string") throw new Error("hostkeys: Ed25519 public key export returned no x coordinate");
  return Buffer.from(jwk.x, "base64url");
}

function privateSection(seed: Buffer, publicKey: Buffer, comment: string): Buffer {
  // The check-int only lets a reader detect a wrong passphrase; deriving it from the seed keeps
  // the file byte-for-byte stable across renders.
  const checkInt = createHash("sha256").update("starbase/hostkey/checkint").update(seed).digest().readUInt32BE(0);
  const body = Buffer.concat([
    uint32(checkInt),
    uint32(checkInt),
    sshString(KEY_TYPE),
    sshString(publicKey),
    sshString(Buffer.concat([seed, publicKey])),
    sshString(comment),
  ]);
  const padLength = (UNENCRYPTED_BLOCK_SIZE - (body.length % UNENCRYPTED_BLOCK_SIZE)) % UNENCRYPTED_BLOCK_SIZE;
  const padding = Buffer.from(Array.from({ length: padLength }, (_, i) => i + 1));
  return Buffer.concat([body, padding]);
}

function pem(label: string, der: Buffer): string {
  const base64 = der.toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < base64.length; i += PEM_LINE_LENGTH) lines.push(base64.slice(i, i + PEM_LINE_LENGTH));
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** The Ed25519 host key of one VM: seed = HMAC-SHA256(secret, "starbase/hostkey/v1/<cluster>/<host>"). */
export function hostKey(secret: string, cluster: string, host: string): HostKey {
  const seed = hostKeySeed(secret, cluster, host);
  const publicKey = ed25519PublicKey(seed);
  const publicBlob = Buffer.concat([sshString(KEY_TYPE), sshString(publicKey)]);
  const file = Buffer.concat([
    OPENSSH_MAGIC,
    sshString("none"), // cipher
    sshString("none"), // kdf
    sshString(""), // kdf options
    uint32(1), // number of keys
    sshString(publicBlob),
    sshString(privateSection(seed, publicKey, host)),
  ]);
  return {
    privateKey: pem("OPENSSH PRIVATE KEY", file),
    publicKey: `${KEY_TYPE} ${publicBlob.toString("base64")} ${host}`,
  };
}

/** known_hosts lines for every host of the inventory: "name,ip ssh-ed25519 AAAA…". */
export function knownHosts(inv: Inventory, secret: string): string {
  return inv.hosts
    .map((host) => {
      const [type, blob] = hostKey(secret, inv.spec.name, host.name).publicKey.split(" ");
      return `${host.name},${host.ip} ${type} ${blob}\n`;
    })
    .join("");
}
