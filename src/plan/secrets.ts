// Reading the secrets the spec refers to. Every value is registered for redaction the moment
// it is read, so a secret echoed back in an error is printed as ***.

import type { RenderSecrets } from "../render/index.ts";
import { type Env, resolveSecret } from "../spec/secrets.ts";
import type { SecretRef, Spec, SpecPath } from "../spec/types.ts";
import { registerSecret } from "../ui/redact.ts";

/** Throws SpecReferenceError (the field at `path` and what to do, never the value). */
export function readSecret(ref: SecretRef, dir: string, path: SpecPath, env: Env): string {
  const value = resolveSecret(ref, dir, path, env);
  registerSecret(value);
  return value;
}

/** The secrets rendered files hold: the SSH host key seed and, when set, the VRRP password. */
export function readRenderSecrets(spec: Spec, dir: string, env: Env): RenderSecrets {
  const secrets: RenderSecrets = { hostKeySecret: readSecret(spec.ssh.hostKeySecret, dir, ["ssh", "hostKeySecret"], env) };
  const authPass = spec.loadBalancer.vrrp.authPass;
  if (authPass !== undefined) secrets.vrrpAuthPass = readSecret(authPass, dir, ["loadBalancer", "vrrp", "authPass"], env);
  return secrets;
}
