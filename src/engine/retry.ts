// Exponential backoff with full jitter: the delay after failed attempt n is
// uniform in [0, min(maxMs, baseMs · 2^(n-1))), which spreads retries of many
// steps hitting the same busy resource (a Proxmox storage lock) apart.

import type { RetryPolicy } from "./types.ts";

export function backoffDelay(
  failedAttempt: number,
  policy: Pick<RetryPolicy, "baseMs" | "maxMs">,
  random: () => number,
): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (failedAttempt - 1));
  return Math.floor(random() * ceiling);
}

export function checkRetryPolicy(policy: RetryPolicy): void {
  if (!Number.isInteger(policy.attempts) || policy.attempts < 1) {
    throw new RangeError(`retry.attempts must be a whole number of at least 1, got ${policy.attempts}`);
  }
  if (!(policy.baseMs >= 0) || !(policy.maxMs >= policy.baseMs)) {
    throw new RangeError(`retry needs 0 <= baseMs <= maxMs, got baseMs ${policy.baseMs}, maxMs ${policy.maxMs}`);
  }
}
