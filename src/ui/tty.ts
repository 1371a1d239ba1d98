// Live progress on a terminal: finished facts scroll up as permanent lines;
// below them a block showing what runs now (elapsed time, last progress message)
// and what waits on what is redrawn in place with ANSI cursor control.

import { Chalk } from "chalk";
import type { EngineEvent, WaitingStep } from "../engine/events.ts";
import { redact } from "./redact.ts";
import type { OutputStream, Reporter } from "./reporter.ts";
import { summaryLines, type Tone } from "./summary.ts";
import { endLine, formatDuration, notableWaits, othersLine, retryLine, skipLine } from "./text.ts";

export interface TtyOptions {
  /** False under NO_COLOR: cursor control stays, colours go. Default true. */
  color?: boolean;
  /** Redraw period for elapsed times. Default 1 s. */
  refreshMs?: number;
  now?: () => number;
  /** What to run again after a failed run (default "apply"). */
  command?: string;
}

interface Running {
  startedAt: number;
  attempt: number;
  message?: string;
}

const CSI = "\x1b[";
const DEFAULT_ROWS = 24;

export function ttyReporter(stream: OutputStream, opts: TtyOptions = {}): Reporter {
  const paint = new Chalk({ level: opts.color === false ? 0 : 1 });
  const now = opts.now ?? Date.now;
  const running = new Map<string, Running>();
  const finished = new Set<string>();
  let waits: WaitingStep[] = [];
  let total = 0;
  let liveLines = 0;
  let ticker: ReturnType<typeof setInterval> | undefined;

  const stop = (): void => {
    clearInterval(ticker);
    ticker = undefined;
  };

  /** Rewrites the live block, with `above` printed first as permanent lines. */
  const redraw = (above: string[], live: boolean): void => {
    let out = liveLines > 0 ? `${CSI}${liveLines}F${CSI}J` : "";
    for (const line of above) out += `${line}\n`;
    const block = live ? liveBlock() : [];
    for (const line of block) out += `${line}\n`;
    liveLines = block.length;
    stream.write(out);
  };

  const liveBlock = (): string[] => {
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    const room = Math.max(3, (stream.rows ?? DEFAULT_ROWS) - 2);
    const fit = (text: string): string => {
      const clean = redact(text).replace(/\s*\n\s*/g, " ");
      return clean.length > width ? `${clean.slice(0, width - 1)}…` : clean;
    };
    const at = now();
    // The last heartbeat's picture, minus what has moved on since: started or finished steps, and waits whose blockers all finished.
    const current = waits.filter(
      (w) => !finished.has(w.id) && !running.has(w.id) && (w.blockers.length === 0 || w.blockers.some((b) => !finished.has(b))),
    );
    const head = `running ${running.size} · waiting ${total - finished.size - running.size} · done ${finished.size}/${total}`;
    const lines = [paint.bold(fit(head))];
    for (const [id, r] of running) {
      const attempt = r.attempt > 1 ? ` (attempt ${r.attempt})` : "";
      const text = fit(`  ${id}  ${formatDuration(at - r.startedAt)}${attempt}  ${r.message ?? ""}`.trimEnd());
      lines.push(paint.cyan(text));
    }
    const { listed, others } = notableWaits(current, new Set(running.keys()));
    for (const w of listed) lines.push(paint.dim(fit(`  ${w.id} ${w.reason}`)));
    if (others > 0) lines.push(paint.dim(fit(`  ${othersLine(others)}`)));
    if (lines.length <= room) return lines;
    return [...lines.slice(0, room - 1), paint.dim(fit(`  … ${lines.length - room + 1} more lines`))];
  };

  const tone = (t: Tone, text: string): string => {
    const safe = redact(text);
    if (t === "ok") return paint.green(safe);
    if (t === "failed") return paint.red(safe);
    if (t === "warn") return paint.yellow(safe);
    return safe;
  };

  return {
    onEvent(e: EngineEvent): void {
      switch (e.type) {
        case "run-start":
          total = e.steps.length;
          stop();
          ticker = setInterval(() => redraw([], true), opts.refreshMs ?? 1000);
          ticker.unref?.();
          return redraw([], true);
        case "step-start":
          running.set(e.id, { startedAt: e.at, attempt: e.attempt });
          return redraw([], true);
        case "step-progress": {
          const r = running.get(e.id);
          if (r !== undefined) r.message = e.message;
          return redraw([], true);
        }
        case "step-retry":
          running.delete(e.id);
          return redraw([tone("warn", retryLine(e))], true);
        case "step-end": {
          running.delete(e.id);
          finished.add(e.id);
          const t: Tone = e.outcome === "failed" ? "failed" : e.outcome === "cancelled" ? "warn" : e.outcome === "changed" ? "ok" : "plain";
          return redraw([tone(t, endLine(e))], true);
        }
        case "step-skip":
          finished.add(e.id);
          return redraw([paint.dim(redact(skipLine(e)))], true);
        case "waiting":
          waits = e.waiting;
          return redraw([], true);
        case "run-end":
          stop();
          return redraw(
            summaryLines(e.summary, opts.command).map((l) => tone(l.tone, l.text)),
            false,
          );
      }
    },
    close: stop,
  };
}
