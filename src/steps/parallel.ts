// Many small reads of the same kind (VM configs, VM states) at once, but not all at once.

/** Reads in flight at once: enough to be quick, few enough not to flood pveproxy's workers. */
const PARALLEL_READS = 6;

/** Runs `work` on every item, at most `limit` at a time, starting them in order. */
export async function eachLimited<T>(items: readonly T[], work: (item: T) => Promise<void>, limit = PARALLEL_READS): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
