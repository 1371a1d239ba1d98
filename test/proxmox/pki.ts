// Test certificates made with the openssl CLI in a temporary directory: a CA, server
// certificates it signed (for 127.0.0.1 and for another name), an unrelated second CA, and a
// self-signed certificate.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface KeyPair {
  key: string;
  cert: string;
  /** SHA-256 fingerprint as openssl prints it: "AB:CD:…". */
  fingerprint: string;
}

export interface Pki {
  ca: KeyPair;
  /** Signed by `ca`, subjectAltName IP:127.0.0.1. */
  server: KeyPair;
  /** Signed by `ca`, but for another name (DNS:pve9.example). */
  otherName: KeyPair;
  otherCa: KeyPair;
  selfSigned: KeyPair;
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "ignore", "pipe"] });
}

function keyPair(dir: string, name: string): KeyPair {
  const cert = readFileSync(join(dir, `${name}.pem`), "utf8");
  const out = execFileSync("openssl", ["x509", "-noout", "-fingerprint", "-sha256", "-in", `${name}.pem`], { cwd: dir, encoding: "utf8" });
  const fingerprint = /=([0-9A-F:]+)/.exec(out)?.[1];
  if (fingerprint === undefined) throw new Error(`openssl printed no fingerprint for ${name}: ${out}`);
  return { key: readFileSync(join(dir, `${name}.key`), "utf8"), cert, fingerprint };
}

function selfSignedCa(dir: string, name: string, subject: string): void {
  openssl(dir, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", subject,
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
}

function signedByCa(dir: string, name: string, subjectAltName: string): void {
  openssl(dir, ["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", `${name}.key`, "-out", `${name}.csr`, "-subj", "/CN=pve-test"]);
  writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${subjectAltName}\nextendedKeyUsage=serverAuth\n`);
  openssl(dir, ["x509", "-req", "-in", `${name}.csr`, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
    "-out", `${name}.pem`, "-days", "2", "-extfile", `${name}.ext`]);
}

export function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), "starbase-proxmox-pki-"));
  selfSignedCa(dir, "ca", "/CN=starbase test CA");
  selfSignedCa(dir, "other-ca", "/CN=some other CA");
  signedByCa(dir, "server", "IP:127.0.0.1");
  signedByCa(dir, "other-name", "DNS:pve9.example");
  openssl(dir, ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", "self.key", "-out", "self.pem", "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]);
  return {
    ca: keyPair(dir, "ca"),
    server: keyPair(dir, "server"),
    otherName: keyPair(dir, "other-name"),
    otherCa: keyPair(dir, "other-ca"),
    selfSigned: keyPair(dir, "self"),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
