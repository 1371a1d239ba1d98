// OpenSSH known_hosts files (sshd(8), "SSH_KNOWN_HOSTS FILE FORMAT"): plain names and
// addresses, `[host]:port` for a port other than 22, comma-separated lists with `*`/`?`
// wildcards and `!` negation, hashed names (`|1|salt|HMAC-SHA1`), and the `@revoked` marker.
// `@cert-authority` lines are recognised but not used: starbase verifies plain host keys only.
import { createHash, createHmac } from "node:crypto";
import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync } from "node:fs";
import { dirname } from "node:path";

export interface KnownHostEntry {
  /** 1-based line number in the file, for messages. */
  line: number;
  marker?: "revoked" | "cert-authority";
  /** The host field as written: a pattern list or one `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  /** The key blob (SSH wire format), as base64 in the file. */
  key: Buffer;
}

export interface KnownHostsFile {
  path: string;
  entries: KnownHostEntry[];
  /** Lines that could not be parsed: ignored, as OpenSSH ignores them. */
  skipped: number[];
}

/** OpenSSH's name for a host in known_hosts: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** `SHA256:<base64 without padding>` of a key blob, as `ssh-keygen -l` prints it. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash("sha256").update(keyBlob).digest("base64").replace(/=+$/, "")}`;
}

/** The key type named inside a key blob (its first SSH string). */
export function keyTypeOf(keyBlob: Buffer): string {
  if (keyBlob.length < 4) return "";
  const length = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + length).toString("latin1");
}

/** "ssh-ed25519 AAAA… comment" → the key blob and its type, or undefined if it is no public key line. */
export function parsePublicKeyLine(line: string): { keyType: string; key: Buffer } | undefined {
  const [keyType, base64] = line.trim().split(/\s+/);
  if (keyType === undefined || base64 === undefined || !/^[A-Za-z0-9+/]+={0,3}$/.test(base64)) return undefined;
  const key = Buffer.from(base64, "base64");
  return keyTypeOf(key) === keyType ? { keyType, key } : undefined;
}

export function parseKnownHosts(text: string, path: string): KnownHostsFile {
  const entries: KnownHostEntry[] = [];
  const skipped: number[] = [];
  for (const [index, raw] of text.split("\n").entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry["marker"];
    if (fields[0]?.startsWith("@")) {
      const name = fields.shift();
      if (name === "@revoked") marker = "revoked";
      else if (name === "@cert-authority") marker = "cert-authority";
      else {
        skipped.push(index + 1);
        continue;
      }
    }
    const [hosts, ...keyFields] = fields;
    const parsed = parsePublicKeyLine(keyFields.join(" "));
    if (hosts === undefined || parsed === undefined) {
      skipped.push(index + 1);
      continue;
    }
    entries.push({ line: index + 1, ...(marker === undefined ? {} : { marker }), hosts, keyType: parsed.keyType, key: parsed.key });
  }
  return { path, entries, skipped };
}

/** Reads a known_hosts file; a missing file knows no host. */
export function readKnownHosts(path: string): KnownHostsFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { path, entries: [], skipped: [] };
    throw error;
  }
  return parseKnownHosts(text, path);
}

/** OpenSSH's match_pattern: `*` any run, `?` one character, case-insensitive for host names. */
function globMatches(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${source}$`, "i").test(name);
}

function hashedMatches(field: string, name: string): boolean {
  const [, magic, salt, hash] = field.split("|");
  if (magic !== "1" || salt === undefined || hash === undefined) return false;
  const digest = createHmac("sha1", Buffer.from(salt, "base64")).update(name).digest("base64");
  return digest === hash;
}

/** Whether a host field names `name` (already in `[host]:port` form when the port is not 22). */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith("|")) return hashedMatches(field, name);
  let matched = false;
  for (const pattern of field.split(",")) {
    if (pattern.startsWith("!")) {
      if (globMatches(pattern.slice(1), name)) return false; // a negated match vetoes the line
    } else if (globMatches(pattern, name)) matched = true;
  }
  return matched;
}

export type KnownHostsVerdict =
  | { kind: "known" }
  | { kind: "revoked"; line: number }
  /** The host is listed, with other keys: these are their fingerprints. */
  | { kind: "changed"; expected: string[]; lines: number[] }
  /** The host is not listed; certAuthorityLines are `@cert-authority` lines that name it (unsupported). */
  | { kind: "unknown"; certAuthorityLines: number[] };

/** What the file says about `key` presented by `host` on `port`. */
export function checkKnownHost(file: KnownHostsFile, host: string, port: number, key: Buffer): KnownHostsVerdict {
  const name = knownHostsName(host, port);
  const listed = file.entries.filter((entry) => hostFieldMatches(entry.hosts, name));
  const revoked = listed.find((entry) => entry.marker === "revoked" && entry.key.equals(key));
  if (revoked !== undefined) return { kind: "revoked", line: revoked.line };
  const plain = listed.filter((entry) => entry.marker === undefined);
  if (plain.some((entry) => entry.key.equals(key))) return { kind: "known" };
  if (plain.length > 0) return { kind: "changed", expected: plain.map((entry) => fingerprint(entry.key)), lines: plain.map((entry) => entry.line) };
  return { kind: "unknown", certAuthorityLines: listed.filter((entry) => entry.marker === "cert-authority").map((entry) => entry.line) };
}

/** The key types the file lists for a host, so the handshake can ask for one of them first. */
export function knownKeyTypes(file: KnownHostsFile, host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  const types = file.entries.filter((entry) => entry.marker === undefined && hostFieldMatches(entry.hosts, name)).map((entry) => entry.keyType);
  return [...new Set(types)];
}

function endsWithNewline(path: string): boolean {
  const fd = openSync(path, "r");
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

/** accept-new: appends `name keytype base64` (creating the file 0600 and its directory 0700). */
export function appendKnownHost(path: string, host: string, port: number, key: Buffer): string {
  const line = `${knownHostsName(host, port)} ${keyTypeOf(key)} ${key.toString("base64")}`;
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  let prefix = "";
  try {
    if (!endsWithNewline(path)) prefix = "\n";
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
  appendFileSync(path, `${prefix}${line}\n`, { mode: 0o600 });
  return line;
}
