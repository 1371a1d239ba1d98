import { durationMinutes } from "../spec/duration.ts";
import type { RebootWindow } from "./types.ts";

const MINUTES_PER_DAY = 24 * 60;

function formatMinuteOfDay(minutes: number): string {
  const m = ((minutes % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  return `${String(Math.floor(m / 60)).padStart(2, "0")}:${String(m % 60).padStart(2, "0")}`;
}

function minuteOfDay(hhmm: string): number {
  const [hours, minutes] = hhmm.split(":").map(Number);
  return (hours ?? 0) * 60 + (minutes ?? 0);
}

/** A reboot window's length in minutes; undefined for text that is no duration and for zero. */
export function parseDuration(text: string): number | undefined {
  const minutes = durationMinutes(text);
  return minutes !== undefined && minutes > 0 ? minutes : undefined;
}

function windowLength(duration: string): number {
  const minutes = parseDuration(duration);
  if (minutes === undefined) throw new Error(`windowDuration "${duration}" is not a duration like 1h, 90m or 1h30m`);
  return minutes;
}

/**
 * The daily reboot windows: rebootSlots × minuteOffsets, hour-major (17:00, 17:15 … 18:45),
 * each lasting `duration`; an end past midnight wraps (23:00 + 90m ends 00:30).
 * Throws when duration is not a duration (inventoryIssues reports that first).
 */
export function rebootWindows(slots: readonly number[], offsets: readonly number[], duration: string): RebootWindow[] {
  const length = windowLength(duration);
  return slots.flatMap((hour) =>
    offsets.map((offset) => {
      const start = hour * 60 + offset;
      return { start: formatMinuteOfDay(start), end: formatMinuteOfDay(start + length), duration };
    }),
  );
}

/** The window of the index-th host of a type: the hosts take the windows in order, wrapping around. */
export function windowOfHost(windows: readonly RebootWindow[], index: number): RebootWindow | undefined {
  return windows.length === 0 ? undefined : windows[index % windows.length];
}

/**
 * Whether two daily windows share at least one minute. A window covers [start, start + duration),
 * taken modulo one day, so 23:30–00:30 and 00:00–01:00 overlap while 17:00–18:00 and
 * 18:00–19:00 do not. Both durations must be ones parseDuration accepts (it throws otherwise).
 */
export function windowsOverlap(a: RebootWindow, b: RebootWindow): boolean {
  const fromAToB = (minuteOfDay(b.start) - minuteOfDay(a.start) + MINUTES_PER_DAY) % MINUTES_PER_DAY;
  const fromBToA = (MINUTES_PER_DAY - fromAToB) % MINUTES_PER_DAY;
  return fromAToB < windowLength(a.duration) || fromBToA < windowLength(b.duration);
}
