// What the tests read back through `lab exec`: one JSON object a line in
// /var/lib/starbase-lab/rke2-records.jsonl, appended by every stand-in process on the host.
// Every record has time, host, unit and event; the other fields depend on the event (README.md).

import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { RECORDS_FILE, rooted } from "./paths.ts";

export interface RecordFields {
  event: string;
  [field: string]: unknown;
}

let context = { host: "?", unit: "?" };

export function setRecordContext(host: string, unit: string): void {
  context = { host, unit };
}

export function record(fields: RecordFields): void {
  const file = rooted(RECORDS_FILE);
  mkdirSync(dirname(file), { recursive: true });
  appendFileSync(file, `${JSON.stringify({ time: new Date().toISOString(), ...context, ...fields })}\n`);
}

/** Log lines go to stderr, which systemd sends to the journal as RKE2's logrus lines do. */
export function log(level: "info" | "warning" | "error" | "fatal", message: string): void {
  process.stderr.write(`level=${level} msg=${JSON.stringify(message)}\n`);
}
