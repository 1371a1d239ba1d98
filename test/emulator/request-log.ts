// Every request the emulator received, in memory and optionally as JSON lines in a file.
import { appendFileSync } from "node:fs";

export interface RequestLogEntry {
  method: string;
  /** The path after /api2/json, percent-decoded. */
  path: string;
  /** Query, form, JSON and multipart (non-file) parameters. */
  params: Record<string, unknown>;
  /** HTTP status of a rejected request (>= 400), 0 for a dropped connection. */
  status?: number;
  /** The injected fault, if any. */
  fault?: string;
}

// PVE itself never echoes these; the log must not leak them either.
const SECRET_PARAMS = new Set(["cipassword", "password", "new-password"]);

export class RequestLog {
  readonly entries: RequestLogEntry[] = [];

  /** Lines are appended, so a restarted emulator continues the same file. */
  constructor(private readonly file?: string) {}

  append(entry: RequestLogEntry): void {
    const params = Object.fromEntries(
      Object.entries(entry.params).map(([key, value]) => [key, SECRET_PARAMS.has(key) ? "**********" : value]),
    );
    const redacted = { ...entry, params };
    this.entries.push(redacted);
    if (this.file) appendFileSync(this.file, `${JSON.stringify(redacted)}\n`);
  }
}
