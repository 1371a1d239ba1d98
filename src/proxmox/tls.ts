// How the client trusts the Proxmox server: a CA, a SHA-256 certificate pin, or (only when
// explicitly asked) nothing. Without any of these the system trust store applies.
//
// Pinning is a custom undici connector, not checkServerIdentity: under Bun, an Error returned
// from checkServerIdentity is ignored and any certificate is accepted. The connector finishes
// the TLS handshake with verification off, compares the peer certificate's SHA-256 fingerprint
// with the pin and destroys the socket on a mismatch — before undici writes a single byte of
// HTTP, so the API token never leaves the process.

import { isIP } from "node:net";
import * as tls from "node:tls";
import type * as undici from "undici/index.js";
import { PIN_MISMATCH_CODE } from "./errors.ts";

export type TlsTrust = { fingerprint: string } | { caPem: string } | { insecure: true };

type ConnectOption = NonNullable<undici.Pool.Options["connect"]>;

/** undici's `connect` option for the given trust; `connectTimeoutMs` bounds TCP + TLS set-up. */
export function connectOption(trust: TlsTrust | undefined, connectTimeoutMs: number): ConnectOption {
  if (trust === undefined) return { timeout: connectTimeoutMs };
  if ("fingerprint" in trust) return pinningConnector(normaliseFingerprint(trust.fingerprint), connectTimeoutMs);
  if ("caPem" in trust) {
    if (!trust.caPem.includes("-----BEGIN CERTIFICATE-----")) {
      throw new TypeError("the CA must be a PEM certificate (-----BEGIN CERTIFICATE-----)");
    }
    return { ca: trust.caPem, timeout: connectTimeoutMs };
  }
  if (trust.insecure !== true) throw new TypeError("tls must be { fingerprint }, { caPem } or { insecure: true }");
  return { rejectUnauthorized: false, timeout: connectTimeoutMs };
}

/** "ab:cd:…" or "ABCD…" → "AB:CD:…"; throws unless it is 32 bytes of hex. */
export function normaliseFingerprint(fingerprint: string): string {
  const hex = fingerprint.trim().replace(/:/g, "").toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) {
    throw new TypeError("tls.fingerprint must be a SHA-256 certificate fingerprint: 64 hex digits, colons optional");
  }
  return hex.replace(/(..)(?!$)/g, "$1:");
}

function pinningConnector(pin: string, connectTimeoutMs: number): undici.buildConnector.connector {
  return (opts, callback) => {
    const host = opts.hostname;
    const port = Number(opts.port) || 443;
    const socket = tls.connect({
      host,
      port,
      // SNI carries host names only, never IP addresses.
      servername: opts.servername ?? (isIP(host) === 0 ? host : undefined),
      rejectUnauthorized: false,
      ALPNProtocols: ["http/1.1"],
    });
    let settled = false;
    const settle = (err: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err === null) {
        callback(null, socket);
      } else {
        socket.destroy();
        callback(err, null);
      }
    };
    const timer = setTimeout(() => {
      settle(Object.assign(new Error(`TLS connection to ${host}:${port} not established within ${connectTimeoutMs} ms`),
        { code: "UND_ERR_CONNECT_TIMEOUT" }));
    }, connectTimeoutMs);
    socket.setNoDelay(true);
    socket.once("secureConnect", () => {
      const presented = socket.getPeerCertificate().fingerprint256;
      const actual = typeof presented === "string" && presented !== "" ? normaliseFingerprint(presented) : "(none)";
      if (actual === pin) {
        settle(null);
        return;
      }
      settle(Object.assign(new Error(`TLS certificate fingerprint mismatch for ${host}:${port}: the server presented `
        + `SHA-256 ${actual}, expected ${pin}. The connection was closed before any request was sent.`), { code: PIN_MISMATCH_CODE }));
    });
    // Stays attached: errors after the hand-over are undici's, and must not become uncaught here.
    socket.on("error", (err: Error) => settle(err));
  };
}
