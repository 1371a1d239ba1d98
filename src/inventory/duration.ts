const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?$/;

/** "1h", "90m", "1h30m" → minutes. undefined for anything else, and for zero length. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text);
  if (match === null) return undefined;
  const minutes = Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
  return minutes > 0 ? minutes : undefined;
}
