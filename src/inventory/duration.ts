import { durationMinutes } from "../spec/duration.ts";

/** A reboot window's length in minutes; undefined for text that is no duration and for zero. */
export function parseDuration(text: string): number | undefined {
  const minutes = durationMinutes(text);
  return minutes !== undefined && minutes > 0 ? minutes : undefined;
}
