// readTextFile is the one way starbase reads a file the user names (the spec, secret files, CA
// files): regular files only, bounded in size, UTF-8 text, and never blocking.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KiB, readTextFile, TextFileError } from "../../src/spec/text-file.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sbspec-textfile-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Uint8Array): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function problem(path: string, maxBytes = 4 * KiB): TextFileError {
  try {
    readTextFile(path, maxBytes);
  } catch (error) {
    if (error instanceof TextFileError) return error;
    throw error;
  }
  throw new Error(`${path} was read`);
}

describe("what is not a regular file fails at once", () => {
  test("a FIFO, without a writer, is refused without blocking", () => {
    const fifo = join(dir, "fifo");
    const made = Bun.spawnSync(["mkfifo", fifo]);
    expect(made.exitCode).toBe(0);
    const started = performance.now();
    expect(problem(fifo).message).toBe(`${fifo} is a named pipe (FIFO), not a regular file`);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  test("/dev/zero, which would never end", () => {
    expect(problem("/dev/zero").message).toBe("/dev/zero is a character device, not a regular file");
  });

  test("a directory", () => {
    mkdirSync(join(dir, "sub"));
    expect(problem(join(dir, "sub")).message).toBe(`${join(dir, "sub")} is a directory`);
  });

  test("a missing file is unavailable, not wrong", () => {
    const missing = problem(join(dir, "nope"));
    expect(missing.message).toBe(`${join(dir, "nope")} does not exist`);
    expect(missing.unavailable).toBe(true);
    expect(problem("/dev/zero").unavailable).toBe(false);
  });
});

describe("size", () => {
  test("a file of exactly the cap is read; one byte more is refused before reading", () => {
    expect(readTextFile(file("exact", "x".repeat(100)), 100)).toBe("x".repeat(100));
    expect(problem(file("over", "x".repeat(101)), 100).message).toBe(`${join(dir, "over")} is 101 bytes, more than the 100 bytes starbase reads`);
  });

  test("a file whose size stat does not tell (procfs) is still cut at the cap", () => {
    // /proc/self/environ is a regular file of size 0 that reads as much as the environment holds.
    const environ = "/proc/self/environ";
    expect(problem(environ, 4).message).toBe(`${environ} is more than the 4 bytes starbase reads`);
  });
});

describe("encoding", () => {
  const yaml = "name: lab\nproxmox: {}\n";

  test("UTF-16 with a byte-order mark, either byte order", () => {
    const le = file("le.yaml", Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(yaml, "utf16le")]));
    expect(problem(le).message).toBe(`${le} is UTF-16; save it as UTF-8`);
    const be = Buffer.from(yaml, "utf16le").swap16();
    expect(problem(file("be.yaml", Buffer.concat([Buffer.from([0xfe, 0xff]), be]))).message).toEndWith("is UTF-16; save it as UTF-8");
  });

  test("UTF-16 without a byte-order mark, by its NUL bytes", () => {
    expect(problem(file("nobom.yaml", Buffer.from(yaml, "utf16le"))).message).toEndWith("is UTF-16; save it as UTF-8");
  });

  test("UTF-32", () => {
    const utf32 = Buffer.from([0xff, 0xfe, 0, 0, 0x6e, 0, 0, 0]);
    expect(problem(file("utf32", utf32)).message).toEndWith("is UTF-32; save it as UTF-8");
  });

  test("Latin-1 is not UTF-8, and the first bad byte is placed", () => {
    const latin1 = Buffer.from("name: lab\n# Grüße\n", "latin1");
    const error = problem(file("latin1.yaml", latin1));
    expect(error.message).toBe(`${join(dir, "latin1.yaml")} is not UTF-8 text (line 2, column 5); save it as UTF-8`);
    expect(error.at).toEqual({ line: 2, col: 5 });
  });

  test("random bytes (a binary secret) are refused rather than decoded lossily", () => {
    const binary = Buffer.from([0x8f, 0x01, 0xfe, 0x33, 0xc3, 0x28, 0x00, 0x91]);
    expect(problem(file("binary", binary)).message).toContain("save it as UTF-8");
  });

  test("NUL bytes in otherwise valid UTF-8", () => {
    expect(problem(file("nul", "abc\u0000defghij")).message).toEndWith("contains NUL bytes: it is not a text file");
  });

  test("a UTF-8 byte-order mark is dropped; UTF-8 text is read as is", () => {
    expect(readTextFile(file("bom.yaml", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("name: läb\n")])), KiB)).toBe("name: läb\n");
    expect(readTextFile(file("empty", ""), KiB)).toBe("");
  });
});
