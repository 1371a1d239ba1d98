// Errors as the PVE HTTP server reports them: status, reason phrase (first line of the message),
// optional per-parameter errors; 401 and proxy pseudo-statuses carry no body.
import type { ParamErrors } from "./validate.ts";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: ParamErrors,
    readonly emptyBody = false,
  ) {
    super(message);
  }

  get reason(): string {
    return this.message.split("\n")[0] ?? "";
  }
}

/** A handler `die`: HTTP 500 with the text as reason phrase and body message. */
export function handlerError(message: string): ApiError {
  return new ApiError(500, message.endsWith("\n") ? message : `${message}\n`);
}

/** raise_param_exc: HTTP 400 "Parameter verification failed." with per-parameter errors. */
export function paramError(errors: ParamErrors): ApiError {
  return new ApiError(400, "Parameter verification failed.\n", errors);
}

/** raise_perm_exc: HTTP 403 "Permission check failed[ (what)]". */
export function permissionError(what?: string): ApiError {
  return new ApiError(403, `Permission check failed${what ? ` (${what})` : ""}\n`);
}

export function notImplemented(message: string): ApiError {
  return new ApiError(501, message);
}

export function unauthorized(reason: "No ticket" | "Authentication failed!"): ApiError {
  return new ApiError(401, reason, undefined, true);
}

/** The text a task ends with when an error is thrown inside its worker. */
export function errorText(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.replace(/\n+$/, "");
}
