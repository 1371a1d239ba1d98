// Reads and work done once per run and shared by every step that asks: a failure is
// forgotten, so that the next caller tries again (a retry must not get the old error).

/** A memo of one read; a failed read is forgotten so that the next caller tries again. */
export class Once<T> {
  #value: Promise<T> | undefined;

  /** The remembered read, or `read` started now (by the caller that asks first, with its own context). */
  get(read: () => Promise<T>): Promise<T> {
    return this.#value ?? this.set(read());
  }

  /** Replaces the memo with a newer read. */
  set(value: Promise<T>): Promise<T> {
    const memo: Promise<T> = value.catch((err: unknown) => {
      if (this.#value === memo) this.#value = undefined;
      throw err;
    });
    this.#value = memo;
    return memo;
  }
}

/** The memo of `key` in `memos`: read once, or again when `fresh`. */
export function remembered<T>(memos: Map<string, Once<T>>, key: string, fresh: boolean, read: () => Promise<T>): Promise<T> {
  let memo = memos.get(key);
  if (memo === undefined) {
    memo = new Once<T>();
    memos.set(key, memo);
  }
  return fresh ? memo.set(read()) : memo.get(read);
}
