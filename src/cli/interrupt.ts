import type { Output } from "./output.ts";

/**
 * Ctrl-C (and SIGTERM) cancel the run instead of killing the process, so that running steps
 * get the engine's grace period and the lock is released. A second one kills at once.
 * Returns the function that removes the handlers.
 */
export function cancelOnInterrupt(out: Output, controller: AbortController): () => void {
  const interrupt = () => {
    out.message("interrupted: no new steps start; running ones get a moment to finish, then the lock is released (Ctrl-C again to quit at once)");
    controller.abort();
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  return () => {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  };
}
