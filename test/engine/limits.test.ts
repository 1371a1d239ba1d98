import { describe, expect, test } from "bun:test";
import { LimitPool } from "../../src/engine/limits.ts";

describe("LimitPool", () => {
  test("unlisted names hold one step; listed names their capacity", () => {
    const pool = new LimitPool({ "vm-create:node02": 2 });
    expect(pool.capacity("vm-create:node01")).toBe(1);
    pool.acquire("vm:a", ["vm-create:node01", "vm-create:node02"]);
    expect(pool.blocker(["vm-create:node02"])).toBeUndefined();
    expect(pool.blocker(["vm-create:node02", "vm-create:node01"])).toEqual({ limit: "vm-create:node01", holders: ["vm:a"] });
    pool.acquire("vm:b", ["vm-create:node02"]);
    expect(pool.blocker(["vm-create:node02"])).toEqual({ limit: "vm-create:node02", holders: ["vm:a", "vm:b"] });
    expect(() => pool.acquire("vm:c", ["vm-create:node02"])).toThrow("limit vm-create:node02 is full");
    pool.release("vm:a", ["vm-create:node01", "vm-create:node02"]);
    expect(pool.blocker(["vm-create:node01", "vm-create:node02"])).toBeUndefined();
  });

  test("capacities must be whole numbers of at least 1", () => {
    expect(() => new LimitPool({ x: 0 })).toThrow(RangeError);
    expect(() => new LimitPool({ x: 1.5 })).toThrow(RangeError);
  });
});
