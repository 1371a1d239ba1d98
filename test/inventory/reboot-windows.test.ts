import { describe, expect, test } from "bun:test";
import { parseDuration, rebootWindows, windowOfHost, windowsOverlap } from "../../src/inventory/reboot-windows.ts";
import type { RebootWindow } from "../../src/inventory/types.ts";

const span = (w: RebootWindow) => `${w.start}–${w.end}`;

describe("parseDuration", () => {
  test("hours, minutes and both", () => {
    expect(parseDuration("1h")).toBe(60);
    expect(parseDuration("90m")).toBe(90);
    expect(parseDuration("1h30m")).toBe(90);
    expect(parseDuration("2h5m")).toBe(125);
  });

  test("anything else, and zero, is no duration", () => {
    for (const bad of ["", "h", "1", "1.5h", "30m1h", "1h 30m", "1d", "0h", "0m", "-1h", "1H"]) {
      expect(parseDuration(bad)).toBeUndefined();
    }
  });
});

describe("rebootWindows", () => {
  test("the concept document's eight windows, hour-major (its 19:40 is a typo for 19:45)", () => {
    expect(rebootWindows([17, 18], [0, 15, 30, 45], "1h").map(span)).toEqual([
      "17:00–18:00", "17:15–18:15", "17:30–18:30", "17:45–18:45",
      "18:00–19:00", "18:15–19:15", "18:30–19:30", "18:45–19:45",
    ]);
  });

  test("every window keeps the duration as written", () => {
    for (const w of rebootWindows([3], [0, 30], "1h30m")) expect(w.duration).toBe("1h30m");
  });

  test("the end wraps at midnight: slot 23, 90 minutes", () => {
    expect(rebootWindows([23], [0, 45], "90m")).toEqual([
      { start: "23:00", end: "00:30", duration: "90m" },
      { start: "23:45", end: "01:15", duration: "90m" },
    ]);
  });

  test("slot and offset order is kept as declared", () => {
    expect(rebootWindows([2, 1], [30, 0], "15m").map(span)).toEqual(["02:30–02:45", "02:00–02:15", "01:30–01:45", "01:00–01:15"]);
  });

  test("no slots or no offsets give no windows; a bad duration is refused", () => {
    expect(rebootWindows([], [0], "1h")).toEqual([]);
    expect(rebootWindows([1], [], "1h")).toEqual([]);
    expect(() => rebootWindows([1], [0], "an hour")).toThrow(/an hour/);
  });
});

describe("windowOfHost", () => {
  test("hosts take the windows in order and wrap around", () => {
    const windows = rebootWindows([17], [0, 20, 40], "20m");
    expect([0, 1, 2, 3, 4, 7].map((i) => windowOfHost(windows, i)?.start)).toEqual(["17:00", "17:20", "17:40", "17:00", "17:20", "17:20"]);
    expect(windowOfHost([], 0)).toBeUndefined();
  });
});

describe("windowsOverlap", () => {
  const w = (start: string, duration: string): RebootWindow => ({ start, end: "", duration });

  test("touching windows share no minute", () => {
    expect(windowsOverlap(w("17:00", "1h"), w("18:00", "1h"))).toBe(false);
    expect(windowsOverlap(w("18:00", "1h"), w("17:00", "1h"))).toBe(false);
  });

  test("a shared minute is an overlap, in either order", () => {
    expect(windowsOverlap(w("17:00", "1h"), w("17:59", "1h"))).toBe(true);
    expect(windowsOverlap(w("17:59", "1h"), w("17:00", "1h"))).toBe(true);
    expect(windowsOverlap(w("17:00", "1h"), w("17:00", "1m"))).toBe(true);
  });

  test("one window inside another", () => {
    expect(windowsOverlap(w("10:00", "4h"), w("11:00", "15m"))).toBe(true);
    expect(windowsOverlap(w("11:00", "15m"), w("10:00", "4h"))).toBe(true);
  });

  test("windows that wrap midnight", () => {
    expect(windowsOverlap(w("23:30", "1h"), w("00:00", "1h"))).toBe(true);
    expect(windowsOverlap(w("00:00", "1h"), w("23:30", "1h"))).toBe(true);
    expect(windowsOverlap(w("23:00", "90m"), w("00:30", "1h"))).toBe(false);
    expect(windowsOverlap(w("23:00", "90m"), w("00:29", "1m"))).toBe(true);
  });

  test("a window of a day or more overlaps everything", () => {
    expect(windowsOverlap(w("03:00", "24h"), w("02:00", "1m"))).toBe(true);
  });
});
