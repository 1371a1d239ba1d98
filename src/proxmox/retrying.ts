// Retrying calls that are safe to repeat (reads, the lock's pool calls) when Proxmox answers
// that it may succeed later: lost connections, 596 from its proxy, lock timeouts. Steps do not
// use this: the engine retries them, observing again before acting.

import { setTimeout as sleep } from "node:timers/promises";
import { isRetryable } from "./index.ts";

const ATTEMPTS = 6;
const STEP_MS = 300;

export async function retrying<T>(work: () => Promise<T>, attempts = ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!isRetryable(err) || attempt >= attempts) throw err;
      await sleep(STEP_MS * attempt);
    }
  }
}
