import { describe, expect, test } from "bun:test";
import { topologicalOrder } from "../../src/engine/order.ts";

describe("topologicalOrder", () => {
  test("needs first; among free steps the earliest in the input", () => {
    const steps = [
      { id: "kured", needs: ["server-first"] },
      { id: "vm", needs: [] },
      { id: "server-first", needs: ["vm"] },
      { id: "image", needs: [] },
    ];
    // Once vm is done, server-first (input 2) is free alongside image (input 3) and goes first; then kured (input 0).
    expect(topologicalOrder(steps)).toEqual(["vm", "server-first", "kured", "image"]);
  });
});
