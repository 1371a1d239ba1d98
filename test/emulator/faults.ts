// Seeded fault injection. Every authenticated request consumes the same number of random draws,
// so a seed and a request sequence always produce the same faults.
import { FAULT_KINDS, type FaultKind, type FaultOptions, READ_FAULT_KINDS } from "./options.ts";

export interface RequestFaults {
  /** 596 "Connection timed out" or a connection dropped without response. */
  transport?: "timeout596" | "drop";
  /** For mutating calls: the action was carried out before the transport fault hit. */
  actionPerformed: boolean;
  lockTimeout: boolean;
  taskFail: boolean;
  taskSlow: boolean;
  /** The worker fails to get the first lock it takes (VM flock, storage flock or cfs lock). */
  taskLockTimeout: boolean;
}

/** mulberry32: small, fast, good enough for test decisions. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private random: () => number;
  private rates: Partial<Record<FaultKind, number>>;
  private rate: number | undefined;
  private kinds: FaultKind[];
  slowFactor: number;
  failText: string;

  constructor(options: FaultOptions = {}) {
    this.random = prng(options.seed ?? 1);
    this.rates = options.rates ?? {};
    this.rate = options.rate;
    this.kinds = options.kinds ?? FAULT_KINDS;
    this.slowFactor = options.slowFactor ?? 10;
    this.failText = options.failText ?? "emulated fault: worker failed";
  }

  /** Replaces rates and texts; a given seed restarts the random sequence. */
  configure(options: FaultOptions): void {
    if (options.seed !== undefined) this.random = prng(options.seed);
    if (options.rates !== undefined) this.rates = options.rates;
    if (options.rates !== undefined || options.rate !== undefined) this.rate = options.rate;
    if (options.kinds !== undefined) this.kinds = options.kinds;
    if (options.slowFactor !== undefined) this.slowFactor = options.slowFactor;
    if (options.failText !== undefined) this.failText = options.failText;
  }

  /** The faults of one request; `mutating`: not a GET (only those take locks and start tasks). */
  draw(mutating: boolean): RequestFaults {
    const hit = this.rate === undefined ? this.perKind() : this.spread(mutating);
    const actionPerformed = this.random() < 0.5;
    return {
      transport: hit.has("timeout596") ? "timeout596" : hit.has("drop") ? "drop" : undefined,
      actionPerformed,
      lockTimeout: hit.has("lockTimeout"),
      taskFail: hit.has("taskFail"),
      taskSlow: hit.has("taskSlow"),
      taskLockTimeout: hit.has("taskLockTimeout"),
    };
  }

  /** Each kind with its own rate: one draw per kind. */
  private perKind(): Set<FaultKind> {
    return new Set(FAULT_KINDS.filter((kind) => this.random() < (this.rates[kind] ?? 0)));
  }

  /** One rate for the request, then one kind among those that can hit it: two draws. */
  private spread(mutating: boolean): Set<FaultKind> {
    const faulted = this.random() < (this.rate ?? 0);
    const pick = this.random();
    const eligible = mutating ? this.kinds : this.kinds.filter((kind) => READ_FAULT_KINDS.includes(kind));
    const kind = eligible[Math.floor(pick * eligible.length)];
    return new Set(faulted && kind !== undefined ? [kind] : []);
  }
}
