// Every file starbase reads on the user's word (the spec, secret files, CA files) goes through
// readTextFile: a regular file only, at most a given size, UTF-8 text. A FIFO, /dev/zero or a
// directory fails at once with a message that says what the path is, instead of blocking or
// growing without bound; a UTF-16 file (Windows editors, PowerShell redirection) is named as such.
import { isUtf8 } from "node:buffer";
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** A file that cannot be used, and why: `${path} ${reason}`. `at` is where in the file, when known. */
export class TextFileError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    /** The file does not exist or may not be read here, as opposed to being the wrong thing. */
    readonly unavailable: boolean,
    readonly at?: { line: number; col: number },
  ) {
    super(`${path} ${reason}`);
    this.name = "TextFileError";
  }
}

/** "1 MiB", "2.3 MiB", "64 KiB", "100 bytes". */
function sizeText(bytes: number): string {
  const [unit, name] = bytes >= MiB ? [MiB, "MiB"] : bytes >= KiB ? [KiB, "KiB"] : [1, "bytes"];
  const amount = bytes / unit;
  return `${Number.isInteger(amount) ? amount : amount.toFixed(1)} ${name}`;
}

/** What a path that is not a regular file is, in words; undefined for a regular file. */
function notRegular(stats: Stats): string | undefined {
  if (stats.isFile()) return undefined;
  if (stats.isDirectory()) return "is a directory";
  if (stats.isFIFO()) return "is a named pipe (FIFO), not a regular file";
  if (stats.isCharacterDevice()) return "is a character device, not a regular file";
  if (stats.isBlockDevice()) return "is a block device, not a regular file";
  if (stats.isSocket()) return "is a socket, not a regular file";
  return "is not a regular file";
}

function errnoProblem(path: string, error: unknown): TextFileError {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
    case "ENOTDIR":
      return new TextFileError(path, "does not exist", true);
    case "EACCES":
    case "EPERM":
      return new TextFileError(path, "cannot be read: permission denied", true);
    case "ELOOP":
      return new TextFileError(path, "is a symbolic link loop", false);
    default:
      return new TextFileError(path, `cannot be read (${code ?? String(error)})`, true);
  }
}

/** Checks what stat says about the path; throws TextFileError for anything but a regular file within maxBytes. */
export function checkTextFile(path: string, maxBytes: number): Stats {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    throw errnoProblem(path, error);
  }
  const kind = notRegular(stats);
  if (kind !== undefined) throw new TextFileError(path, kind, false);
  if (stats.size > maxBytes) throw new TextFileError(path, `is ${sizeText(stats.size)}, more than the ${sizeText(maxBytes)} starbase reads`, false);
  return stats;
}

/**
 * At most maxBytes + 1 bytes of a regular file; opened non-blocking, so a FIFO put in its place
 * cannot hang the open. The buffer starts at the size stat gave and grows only for files that
 * do not know their size (procfs).
 */
function readBounded(path: string, maxBytes: number, expectedSize: number): Buffer {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (error) {
    throw errnoProblem(path, error);
  }
  try {
    // The path may have been swapped between stat and open: judge what was opened.
    const kind = notRegular(fstatSync(fd));
    if (kind !== undefined) throw new TextFileError(path, kind, false);
    let buffer = Buffer.allocUnsafe(Math.min(expectedSize, maxBytes) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) throw new TextFileError(path, `is more than the ${sizeText(maxBytes)} starbase reads`, false);
        const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2 + 4 * KiB, maxBytes + 1));
        buffer.copy(grown, 0, 0, length);
        buffer = grown;
      }
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) return buffer.subarray(0, length);
      length += read;
    }
  } finally {
    closeSync(fd);
  }
}

/** UTF-16 (or UTF-32) by byte-order mark, or by the NUL byte of every other byte that ASCII text in UTF-16 has. */
function wideEncoding(bytes: Buffer): string | undefined {
  const [b0, b1, b2, b3] = bytes;
  if (b0 === 0xff && b1 === 0xfe && b2 === 0 && b3 === 0) return "UTF-32";
  if (b0 === 0 && b1 === 0 && b2 === 0xfe && b3 === 0xff) return "UTF-32";
  if ((b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff)) return "UTF-16";
  const pairs = Math.min(Math.floor(bytes.length / 2), 256);
  if (pairs === 0) return undefined;
  let lowZero = 0;
  let highZero = 0;
  for (let i = 0; i < pairs; i++) {
    if (bytes[2 * i] === 0 && bytes[2 * i + 1] !== 0) lowZero++;
    if (bytes[2 * i + 1] === 0 && bytes[2 * i] !== 0) highZero++;
  }
  return Math.max(lowZero, highZero) >= pairs * 0.75 ? "UTF-16" : undefined;
}

function positionIn(text: string, index: number): { line: number; col: number } {
  const before = text.slice(0, index);
  const lineStart = before.lastIndexOf("\n") + 1;
  return { line: before.split("\n").length, col: index - lineStart + 1 };
}

/** The bytes as UTF-8 text (a UTF-8 byte-order mark dropped); throws TextFileError naming any other encoding. */
function decodeText(path: string, bytes: Buffer): string {
  const wide = wideEncoding(bytes);
  if (wide !== undefined) throw new TextFileError(path, `is ${wide}; save it as UTF-8`, false);
  const body = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? bytes.subarray(3) : bytes;
  if (!isUtf8(body)) {
    const text = body.toString("utf8");
    const at = positionIn(text, text.indexOf("\uFFFD"));
    throw new TextFileError(path, `is not UTF-8 text (line ${at.line}, column ${at.col}); save it as UTF-8`, false, at);
  }
  const nul = body.indexOf(0);
  if (nul >= 0) throw new TextFileError(path, "contains NUL bytes: it is not a text file", false);
  return body.toString("utf8");
}

/**
 * The content of a regular file of at most maxBytes, as UTF-8 text. Throws TextFileError, whose
 * message names the path and what is wrong with it; never blocks on a FIFO or device.
 */
export function readTextFile(path: string, maxBytes: number): string {
  const { size } = checkTextFile(path, maxBytes);
  return decodeText(path, readBounded(path, maxBytes, size));
}
