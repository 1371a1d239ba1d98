// What every reporter is: a consumer of engine events writing to one stream.

import type { EngineEvent } from "../engine/events.ts";

/** The part of a Node/Bun stream a reporter uses; tests pass a collector. */
export interface OutputStream {
  write(text: string): unknown;
  columns?: number;
  rows?: number;
}

export interface Reporter {
  /** Pass as EngineOptions.onEvent. */
  onEvent: (e: EngineEvent) => void;
  /** Stops timers; call when the run ends abnormally (run-end already does it). */
  close(): void;
}
