// Seeded fault injection. Every authenticated request consumes the same number of random draws,
// so a seed and a request sequence always produce the same faults.
import { FAULT_KINDS, type FaultKind, type FaultOptions } from "./options.ts";

export interface RequestFaults {
  /** 596 "Connection timed out" or a connection dropped without response. */
  transport?: "timeout596" | "drop";
  /** For mutating calls: the action was carried out before the transport fault hit. */
  actionPerformed: boolean;
  lockTimeout: boolean;
  taskFail: boolean;
  taskSlow: boolean;
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
  slowFactor: number;
  failText: string;

  constructor(options: FaultOptions = {}) {
    this.random = prng(options.seed ?? 1);
    this.rates = options.rates ?? {};
    this.slowFactor = options.slowFactor ?? 10;
    this.failText = options.failText ?? "emulated fault: worker failed";
  }

  /** Replaces rates and texts; a given seed restarts the random sequence. */
  configure(options: FaultOptions): void {
    if (options.seed !== undefined) this.random = prng(options.seed);
    if (options.rates !== undefined) this.rates = options.rates;
    if (options.slowFactor !== undefined) this.slowFactor = options.slowFactor;
    if (options.failText !== undefined) this.failText = options.failText;
  }

  draw(): RequestFaults {
    const roll: Record<FaultKind, boolean> = Object.fromEntries(
      FAULT_KINDS.map((kind) => [kind, this.random() < (this.rates[kind] ?? 0)]),
    ) as Record<FaultKind, boolean>;
    const actionPerformed = this.random() < 0.5;
    return {
      transport: roll.timeout596 ? "timeout596" : roll.drop ? "drop" : undefined,
      actionPerformed,
      lockTimeout: roll.lockTimeout,
      taskFail: roll.taskFail,
      taskSlow: roll.taskSlow,
    };
  }
}
