// A fresh self-signed certificate for 127.0.0.1/localhost per emulator start (openssl CLI).
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Certificate {
  certPem: string;
  keyPem: string;
  /** SHA-256 fingerprint, upper-case hex pairs joined by colons. */
  fingerprint: string;
}

export async function createCertificate(): Promise<Certificate> {
  const directory = mkdtempSync(join(tmpdir(), "pve-emulator-tls-"));
  try {
    const keyFile = join(directory, "key.pem");
    const certFile = join(directory, "cert.pem");
    const openssl = Bun.spawn(
      [
        "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-subj", "/OU=PVE Cluster Node/O=Proxmox Virtual Environment/CN=pve-emulator",
        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-days", "3650", "-keyout", keyFile, "-out", certFile,
      ],
      { stdout: "ignore", stderr: "pipe" },
    );
    if ((await openssl.exited) !== 0) {
      throw new Error(`openssl failed to create the emulator certificate: ${await new Response(openssl.stderr).text()}`);
    }
    const certPem = readFileSync(certFile, "utf8");
    return { certPem, keyPem: readFileSync(keyFile, "utf8"), fingerprint: new X509Certificate(certPem).fingerprint256 };
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}
