// A reader that goes away early (`starbase plan … | head -1`) closes the pipe; the next write
// fails with EPIPE. A C program would die of SIGPIPE; Bun ignores the signal and reports EPIPE
// instead, as an exception from write() or as an "error" event. Either way starbase ends at once,
// quietly, with the status a shell shows for a SIGPIPE death.

import type { Terminal } from "./output.ts";

/** 128 + SIGPIPE (13). */
export const EXIT_CLOSED_PIPE = 141;

type Stream = NodeJS.WriteStream;

/** `stream` for a Terminal: writes to a closed pipe end the process with EXIT_CLOSED_PIPE. */
export function closedPipeQuits(stream: Stream, exit: (code: number) => never = process.exit): Terminal["stdout"] & { columns?: number; rows?: number } {
  const quitOnEpipe = (err: unknown): void => {
    if ((err as { code?: unknown } | null)?.code === "EPIPE") exit(EXIT_CLOSED_PIPE);
    throw err;
  };
  stream.on("error", quitOnEpipe);
  return {
    write(text: string): boolean {
      try {
        return stream.write(text);
      } catch (err) {
        quitOnEpipe(err);
        return false;
      }
    },
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
    get rows() {
      return stream.rows;
    },
  };
}
