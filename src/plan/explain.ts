// Proxmox failures said in terms of the spec: which field to change, which privilege to grant.

import { errorMessage } from "../engine/index.ts";
import { AuthError, PermissionError, TlsError, TransientError } from "../proxmox/index.ts";
import type { SecretRef, Spec } from "../spec/types.ts";
import { grantHint } from "../steps/infra/privileges.ts";
import { redact } from "../ui/index.ts";

function describeRef(ref: SecretRef): string {
  if (typeof ref === "string") return "the inline proxmox.tokenSecret";
  return "env" in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;
}

/** The message for `err` that says what to fix in `file`; secrets are masked. */
export function explainProxmoxError(err: unknown, spec: Spec, file: string): string {
  return redact(explanation(err, spec, file));
}

function explanation(err: unknown, spec: Spec, file: string): string {
  const { endpoint, tokenId, tokenSecret, tls } = spec.proxmox;
  if (err instanceof AuthError) {
    return `Proxmox at ${endpoint} refused the API token ${tokenId} (401 authentication failed): check proxmox.tokenId in ${file} `
      + `and the secret in ${describeRef(tokenSecret)}; the token must exist on Proxmox and be neither expired nor disabled`;
  }
  if (err instanceof TlsError) {
    const fix = tls.fingerprint !== undefined
      ? `if the certificate was replaced on purpose, put its SHA-256 fingerprint into proxmox.tls.fingerprint in ${file}`
      : `set proxmox.tls.fingerprint or proxmox.tls.ca in ${file}`;
    return `${err.message}\n${fix}`;
  }
  if (err instanceof PermissionError) {
    const grant = err.aclPath !== undefined && err.privileges.length > 0
      ? `\n${grantHint(err.aclPath, tokenId, err.privileges.join(" or "))}` : "";
    return `${err.message}${grant}`;
  }
  if (err instanceof TransientError) return `cannot reach Proxmox at ${endpoint}: ${err.message}; check proxmox.endpoint in ${file}`;
  return errorMessage(err);
}
