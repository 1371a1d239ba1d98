// The name of a cluster's lock pool, apart from the lock itself so that the privilege table
// can name its path without importing the lock (which reports refusals through that table).

/** The pool that stays, and that a grant of Pool.Allocate goes on. */
export function lockPoolId(cluster: string): string {
  return `starbase-lock-${cluster}`;
}
