// Fake steps for engine tests: each attempt waits until the test ends it, so a
// test decides exactly what runs when, without sleeping.

import type { EngineEvent } from "../../src/engine/events.ts";
import type { Outcome, RunnableStep, StepContext } from "../../src/engine/types.ts";

interface Attempt {
  ctx: StepContext;
  resolve(outcome: Outcome): void;
  reject(err: unknown): void;
}

type StepExtras = Partial<Pick<RunnableStep, "host" | "pveNode" | "limits" | "timeoutMs">> & { kind?: string };

export class ManualSteps {
  /** One entry per attempt start, in start order. */
  readonly started: string[] = [];
  private readonly attempts = new Map<string, Attempt[]>();

  step(id: string, needs: string[] = [], extras: StepExtras = {}): RunnableStep {
    return {
      id,
      kind: "vm",
      needs,
      ...extras,
      run: (ctx) =>
        new Promise<Outcome>((resolve, reject) => {
          this.started.push(id);
          const list = this.attempts.get(id) ?? [];
          list.push({ ctx, resolve, reject });
          this.attempts.set(id, list);
        }),
    };
  }

  /** The context of the latest attempt of `id`, once it has started. */
  async running(id: string, attempt = 1): Promise<StepContext> {
    await until(() => (this.attempts.get(id)?.length ?? 0) >= attempt, `${id} attempt ${attempt} to start`);
    return this.latest(id).ctx;
  }

  finish(id: string, outcome: Outcome = "changed"): void {
    this.latest(id).resolve(outcome);
  }

  fail(id: string, err: unknown): void {
    this.latest(id).reject(err);
  }

  private latest(id: string): Attempt {
    const attempt = this.attempts.get(id)?.at(-1);
    if (attempt === undefined) throw new Error(`${id} has not started`);
    return attempt;
  }
}

/** Resolves once `condition` holds; fails the test after `limitMs` instead of hanging it. */
export async function until(condition: () => boolean, what: string, limitMs = 2000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

export function recorder(): { events: EngineEvent[]; onEvent: (e: EngineEvent) => void } {
  const events: EngineEvent[] = [];
  return { events, onEvent: (e) => events.push(e) };
}

export function ofType<T extends EngineEvent["type"]>(events: EngineEvent[], type: T): Extract<EngineEvent, { type: T }>[] {
  return events.filter((e): e is Extract<EngineEvent, { type: T }> => e.type === type);
}

/** A step that finishes by itself after `ms`, counting how many such steps overlap. */
export function timedStep(
  id: string,
  ms: number,
  gauge: InFlight,
  needs: string[] = [],
  limits?: string[],
): RunnableStep {
  const step: RunnableStep = {
    id,
    kind: "agents",
    needs,
    run: async () => {
      gauge.enter(limits ?? []);
      await new Promise((r) => setTimeout(r, ms));
      gauge.leave(limits ?? []);
      return "changed";
    },
  };
  if (limits !== undefined) step.limits = limits;
  return step;
}

export class InFlight {
  max = 0;
  readonly maxByLimit = new Map<string, number>();
  private now = 0;
  private readonly byLimit = new Map<string, number>();

  enter(limits: string[]): void {
    this.now += 1;
    this.max = Math.max(this.max, this.now);
    for (const name of limits) {
      const n = (this.byLimit.get(name) ?? 0) + 1;
      this.byLimit.set(name, n);
      this.maxByLimit.set(name, Math.max(this.maxByLimit.get(name) ?? 0, n));
    }
  }

  leave(limits: string[]): void {
    this.now -= 1;
    for (const name of limits) this.byLimit.set(name, (this.byLimit.get(name) ?? 0) - 1);
  }
}
