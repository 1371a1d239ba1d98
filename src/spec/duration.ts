const DURATION = /^(?:([0-9]+)h)?(?:([0-9]+)m)?$/;

/** "1h", "90m", "1h30m" → minutes; undefined when the text is not such a duration. "" and "0m" are 0. */
export function durationMinutes(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (match === null) return undefined;
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}
