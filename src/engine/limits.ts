// Named limits: a step holds every limit it names while it runs, so at most
// capacity(name) steps holding that name run at once.

export class LimitPool {
  private readonly holders = new Map<string, Set<string>>();

  constructor(private readonly capacities: Readonly<Record<string, number>> = {}) {
    for (const [name, capacity] of Object.entries(capacities)) {
      if (!Number.isInteger(capacity) || capacity < 1) {
        throw new RangeError(`limit ${name} must be a whole number of at least 1, got ${capacity}`);
      }
    }
  }

  capacity(name: string): number {
    return this.capacities[name] ?? 1;
  }

  /** The first of `names` that is full, with the steps holding it; undefined when all have room. */
  blocker(names: readonly string[]): { limit: string; holders: string[] } | undefined {
    for (const name of names) {
      const held = this.holders.get(name);
      if (held !== undefined && held.size >= this.capacity(name)) return { limit: name, holders: [...held] };
    }
    return undefined;
  }

  acquire(stepId: string, names: readonly string[]): void {
    for (const name of names) {
      const held = this.holders.get(name) ?? new Set<string>();
      if (held.size >= this.capacity(name)) throw new Error(`limit ${name} is full; ${stepId} cannot take it`);
      held.add(stepId);
      this.holders.set(name, held);
    }
  }

  release(stepId: string, names: readonly string[]): void {
    for (const name of names) this.holders.get(name)?.delete(stepId);
  }
}
