// Certificates through the openssl CLI (Bun cannot write X.509 itself). Like RKE2: ECDSA P-256,
// a server CA that signs serving certificates (its PEM is what /cacerts serves and the token
// hashes) and a client CA that signs the admin and node client certificates the API verifies.

import { mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from "node:fs";
import { dirname, join } from "node:path";
import { tmpdir } from "node:os";

export interface KeyPair {
  cert: string;
  key: string;
}

function openssl(args: string[]): void {
  const result = Bun.spawnSync(["openssl", ...args], { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr.toString().trim()}`);
}

function scratch(): string {
  const dir = join(tmpdir(), `rke2-standin-pki-${process.pid}-${Math.random().toString(16).slice(2)}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

export function writeKeyPair(certPath: string, keyPath: string, pair: KeyPair): void {
  mkdirSync(dirname(certPath), { recursive: true });
  writeFileSync(certPath, pair.cert);
  writeFileSync(keyPath, pair.key, { mode: 0o600 });
  chmodSync(keyPath, 0o600);
}

export function readKeyPair(certPath: string, keyPath: string): KeyPair {
  return { cert: readFileSync(certPath, "utf8"), key: readFileSync(keyPath, "utf8") };
}

/** A self-signed CA, CN like RKE2's "rke2-server-ca@<unix seconds>". */
export function createCA(commonName: string): KeyPair {
  const dir = scratch();
  try {
    openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", join(dir, "ca.key"), "-out", join(dir, "ca.crt"), "-days", "3650", "-subj", `/CN=${commonName}`,
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign"]);
    return readKeyPair(join(dir, "ca.crt"), join(dir, "ca.key"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface CertRequest {
  commonName: string;
  organization?: string;
  /** "IP:1.2.3.4" / "DNS:name" entries; serving certificates only. */
  sans?: string[];
  usage: "server" | "client";
}

export function issueCert(ca: KeyPair, request: CertRequest): KeyPair {
  const dir = scratch();
  try {
    writeFileSync(join(dir, "ca.crt"), ca.cert);
    writeFileSync(join(dir, "ca.key"), ca.key, { mode: 0o600 });
    const subject = `${request.organization ? `/O=${request.organization}` : ""}/CN=${request.commonName}`;
    openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
      "-keyout", join(dir, "leaf.key"), "-out", join(dir, "leaf.csr"), "-subj", subject]);
    const ext = [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      `extendedKeyUsage=${request.usage === "server" ? "serverAuth" : "clientAuth"}`,
      ...(request.sans && request.sans.length > 0 ? [`subjectAltName=${request.sans.join(",")}`] : []),
    ];
    writeFileSync(join(dir, "leaf.ext"), `${ext.join("\n")}\n`);
    openssl(["x509", "-req", "-in", join(dir, "leaf.csr"), "-CA", join(dir, "ca.crt"), "-CAkey", join(dir, "ca.key"),
      "-CAcreateserial", "-out", join(dir, "leaf.crt"), "-days", "365", "-extfile", join(dir, "leaf.ext")]);
    return readKeyPair(join(dir, "leaf.crt"), join(dir, "leaf.key"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The SAN entries of a certificate as openssl prints them ("IP Address:…", "DNS:…"). */
export function certificateSans(cert: string): string[] {
  const result = Bun.spawnSync(["openssl", "x509", "-noout", "-ext", "subjectAltName"], { stdin: new TextEncoder().encode(cert), stdout: "pipe", stderr: "pipe" });
  const text = result.stdout.toString();
  const line = text.split("\n").slice(1).join(" ").trim();
  return line === "" ? [] : line.split(/,\s*/);
}
