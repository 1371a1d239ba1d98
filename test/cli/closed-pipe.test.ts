// `starbase plan … | head -1`: the reader goes away and the next write fails with EPIPE.
// starbase then ends at once and quietly, with 141 (128 + SIGPIPE) like any other tool.
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { EXIT_CLOSED_PIPE } from "../../src/cli/closed-pipe.ts";
import { expectQuiet, intoClosedPipe } from "./pipes.ts";
import { exampleFile, withTempDir } from "./run-starbase.ts";

describe("writing to a closed pipe", () => {
  test("plan --offline | (reader gone): exit 141, nothing on stderr but the spec's warnings", async () => {
    const { rc, other } = await intoClosedPipe(["plan", exampleFile, "--offline"], "stdout");
    expect(rc).toBe(EXIT_CLOSED_PIPE);
    expectQuiet(other);
  });

  test("render --output json | (reader gone): exit 141 at the first event", async () => {
    await withTempDir(async (dir) => {
      const { rc, other } = await intoClosedPipe(["render", exampleFile, "--out", join(dir, "out"), "--output", "json"], "stdout");
      expect(rc).toBe(EXIT_CLOSED_PIPE);
      expectQuiet(other);
    });
  });

  test("stderr on a closed pipe ends quietly too", async () => {
    const { rc, other } = await intoClosedPipe(["validate", exampleFile], "stderr");
    expect(rc).toBe(EXIT_CLOSED_PIPE);
    expectQuiet(other);
  });
});
