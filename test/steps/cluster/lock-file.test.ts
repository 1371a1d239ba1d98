import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomUUID } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  acquireScript,
  heartbeatScript,
  parseLockAnswer,
  releaseScript,
  takeOverScript,
} from "../../../src/steps/cluster/lock-file.ts";

// The scripts run for real in sh with flock, as they do on a node; only the path is a scratch one.

let scratch: string;
beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), "sblock-"));
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function run(script: string) {
  const child = Bun.spawn(["sh", "-c", script], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  if (code !== 0) throw new Error(`script failed (${code}): ${stderr}`);
  return parseLockAnswer(stdout);
}

const holder = (token: string, who = "ops@laptop") => JSON.stringify({ user: who, host: "laptop", pid: 1, run: token });

describe("the cluster phase's lock file", () => {
  test("of ten runs starting at once, exactly one gets the lock; the others are told who holds it", async () => {
    const path = join(scratch, "race", "run.lock");
    const tokens = Array.from({ length: 10 }, () => randomUUID());
    const answers = await Promise.all(tokens.map((token) => run(acquireScript(path, holder(token)))));
    const won = answers.filter((a) => a.state === "acquired");
    expect(won).toHaveLength(1);
    const winner = tokens[answers.findIndex((a) => a.state === "acquired")] as string;
    for (const answer of answers.filter((a) => a.state !== "acquired")) {
      expect(answer.state).toBe("held");
      if (answer.state === "held") {
        expect(JSON.parse(answer.content).run).toBe(winner);
        expect(answer.ageSeconds).toBeGreaterThanOrEqual(0);
      }
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(scratch, "race")).mode & 0o777).toBe(0o700);
  });

  test("the age is the node's: an old heartbeat shows as old, and a heartbeat makes it fresh", async () => {
    const path = join(scratch, "age", "run.lock");
    const token = randomUUID();
    expect((await run(acquireScript(path, holder(token)))).state).toBe("acquired");
    const old = new Date(Date.now() - 3600_000);
    utimesSync(path, old, old);
    const seen = await run(acquireScript(path, holder(randomUUID())));
    expect(seen.state === "held" && seen.ageSeconds >= 3599).toBe(true);
    expect((await run(heartbeatScript(path, token, holder(token)))).state).toBe("beat");
    const after = await run(acquireScript(path, holder(randomUUID())));
    expect(after.state === "held" && after.ageSeconds < 5).toBe(true);
  });

  test("two runs taking over the same gone run: one wins, the other sees the winner", async () => {
    const path = join(scratch, "takeover", "run.lock");
    const gone = randomUUID();
    expect((await run(acquireScript(path, holder(gone)))).state).toBe("acquired");
    const a = randomUUID();
    const b = randomUUID();
    const [first, second] = await Promise.all([run(takeOverScript(path, gone, holder(a, "a"))), run(takeOverScript(path, gone, holder(b, "b")))]);
    const states = [first?.state, second?.state].sort();
    expect(states).toEqual(["acquired", "held"]);
    const winner = first?.state === "acquired" ? a : b;
    expect(JSON.parse(readFileSync(path, "utf8")).run).toBe(winner);
  });

  test("a run that lost its lock is told so by its heartbeat, and its release leaves the new holder's lock alone", async () => {
    const path = join(scratch, "lost", "run.lock");
    const first = randomUUID();
    const second = randomUUID();
    await run(acquireScript(path, holder(first)));
    expect((await run(takeOverScript(path, first, holder(second)))).state).toBe("acquired");
    const beat = await run(heartbeatScript(path, first, holder(first)));
    expect(beat.state).toBe("lost");
    if (beat.state === "lost") expect(JSON.parse(beat.content ?? "{}").run).toBe(second);
    expect((await run(releaseScript(path, first))).state).toBe("lost");
    expect(existsSync(path)).toBe(true);
    expect((await run(releaseScript(path, second))).state).toBe("released");
    expect(existsSync(path)).toBe(false);
    expect((await run(heartbeatScript(path, second, holder(second)))).state).toBe("lost");
  });

  test("holder text with quotes and newlines is written as given, never run", async () => {
    const path = join(scratch, "odd", "run.lock");
    const token = randomUUID();
    const odd = JSON.stringify({ user: "o'brien $(touch /tmp/x)", run: token, note: "a\nb" });
    expect((await run(acquireScript(path, odd))).state).toBe("acquired");
    expect(readFileSync(path, "utf8")).toBe(`${odd}\n`);
  });

  test("answers that are not one of the known shapes are errors", () => {
    expect(() => parseLockAnswer("")).toThrow("unexpected answer");
    expect(() => parseLockAnswer("held\n")).toThrow("unexpected answer");
    expect(() => parseLockAnswer("maybe\n")).toThrow("unexpected answer");
    expect(() => takeOverScript("/x", "not-a-uuid", "{}")).toThrow("UUID");
  });
});
