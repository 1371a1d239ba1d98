import type { Output } from "./output.ts";

/**
 * Runs `body` with a controller that Ctrl-C (and SIGTERM) abort instead of killing the process,
 * so that running steps get the engine's grace period and the lock is released. A second one
 * kills at once: the handlers are registered once.
 */
export async function interruptible<T>(out: Output, body: (controller: AbortController) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const interrupt = () => {
    out.message("interrupted: no new steps start; running ones get a moment to finish, then the lock is released (Ctrl-C again to quit at once)");
    controller.abort();
  };
  process.once("SIGINT", interrupt);
  process.once("SIGTERM", interrupt);
  try {
    return await body(controller);
  } finally {
    process.off("SIGINT", interrupt);
    process.off("SIGTERM", interrupt);
  }
}
