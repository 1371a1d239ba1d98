// Proxmox VE REST client: transport, TLS trust, encoding, errors, tasks.

export { isUsableTokenSecret, ProxmoxClient } from "./client.ts";
export type { ProxmoxOptions, TaskResult, TaskStatus, WaitTaskOptions } from "./client.ts";
export { apiPath, encodeParams } from "./encode.ts";
export type { ParamValue, Params } from "./encode.ts";
export {
  AuthError, LockTimeoutError, NotFoundError, ParameterError, PermissionError, ProxmoxError,
  TaskError, TaskTimeoutError, TlsError, TransientError, isRetryable,
} from "./errors.ts";
export type { HttpMethod } from "./errors.ts";
export type { UploadChecksum, UploadContent } from "./multipart.ts";
export { normaliseFingerprint } from "./tls.ts";
export type { TlsTrust } from "./tls.ts";
export { parseUpid } from "./upid.ts";
export type { Upid } from "./upid.ts";
