// The look before acting (plan, and the first pass of apply and destroy) on a terminal: one
// spinner line that says it is only looking. It never prints step outcomes or a count: an
// observing step that finds work ends "changed" in the engine, and showing that as a finished
// run would claim changes that nothing has made. The command prints what the look found.

import { Chalk } from "chalk";
import type { EngineEvent } from "../engine/events.ts";
import { redact } from "./redact.ts";
import type { OutputStream, Reporter } from "./reporter.ts";
import { counted } from "./words.ts";

export interface ObservingOptions {
  /** False under NO_COLOR. Default true. */
  color?: boolean;
  /** Spinner period. Default 100 ms. */
  refreshMs?: number;
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
/** Back to column 0 and clear the line. */
const CLEAR_LINE = "\r\x1b[2K";

export function observingReporter(stream: OutputStream, opts: ObservingOptions = {}): Reporter {
  const paint = new Chalk({ level: opts.color === false ? 0 : 1 });
  let total = 0;
  let read = 0;
  const retrying = new Set<string>();
  let frame = 0;
  let shown = false;
  let ticker: ReturnType<typeof setInterval> | undefined;

  const line = (): string => {
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    const retries = retrying.size > 0 ? `, ${retrying.size} retrying` : "";
    const text = redact(`${FRAMES[frame % FRAMES.length]} observing ${counted(total, "step")} (${read} read${retries})`);
    return text.length > width ? `${text.slice(0, width - 1)}…` : text;
  };
  const draw = (): void => {
    stream.write(`${CLEAR_LINE}${paint.dim(line())}`);
    shown = true;
  };
  const stop = (): void => {
    clearInterval(ticker);
    ticker = undefined;
    if (shown) stream.write(CLEAR_LINE);
    shown = false;
  };

  return {
    onEvent(e: EngineEvent): void {
      switch (e.type) {
        case "run-start":
          total = e.steps.length;
          clearInterval(ticker);
          ticker = setInterval(() => {
            frame += 1;
            draw();
          }, opts.refreshMs ?? 100);
          ticker.unref?.();
          return draw();
        case "step-retry":
          retrying.add(e.id);
          return draw();
        case "step-end":
        case "step-skip":
          retrying.delete(e.id);
          read += 1;
          return draw();
        case "run-end":
          return stop();
        default:
          return;
      }
    },
    close: stop,
  };
}
