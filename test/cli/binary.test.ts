import { describe, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { compileStarbase, hostTarget } from "../../build.ts";
import { EXIT_CLOSED_PIPE } from "../../src/cli/closed-pipe.ts";
import { expectQuiet, intoClosedPipe } from "./pipes.ts";
import { cleanEnv, exampleText, jsonLines, repo, starbase, withTempDir } from "./run-starbase.ts";

// The compiled binary must carry everything it needs (templates, schema): it is copied alone
// into an empty directory and run from there, with the spec beside it.
describe("compiled binary", () => {
  test(
    "npm run build makes one binary, for this machine, which runs version, plan and render from an empty directory",
    async () => {
      await withTempDir(async (dir) => {
        const buildDir = join(dir, "build");
        const build = Bun.spawnSync([process.execPath, "build.ts", "--outdir", buildDir], { cwd: repo, stdout: "pipe", stderr: "pipe" });
        expect(build.exitCode).toBe(0);
        expect(readdirSync(buildDir)).toEqual(["starbase"]);
        const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: repo }).stdout.toString().trim();
        const built = join(buildDir, "starbase");
        const lonely = join(dir, "lonely");
        mkdirSync(lonely);
        const binary = join(lonely, "starbase");
        copyFileSync(built, binary);
        await Bun.write(join(lonely, "cluster.yaml"), exampleText);
        const run = (args: string[], env = cleanEnv()) => starbase(args, { binary, cwd: lonely, env });

        const version = run(["--version"]);
        expect(version.rc).toBe(0);
        expect(version.stdout).toBe(`starbase ${packageJson.version} (commit ${commit})\n`);

        const plan = run(["plan", "cluster.yaml", "--offline", "--output", "json"]);
        expect(plan.rc).toBe(0);
        const [planned] = jsonLines(plan.stdout);
        expect((planned!.hosts as unknown[]).length).toBe(11);

        const render = run(["render", "cluster.yaml", "--out", "rendered"], cleanEnv({ STARBASE_HOSTKEY_SECRET: "binary-test-host-key-secret-0f9e8d7c6b" }));
        expect(render.rc).toBe(0);
        expect(existsSync(join(lonely, "rendered", "lb01", "etc", "haproxy", "haproxy.cfg"))).toBe(true);
        expect(existsSync(join(lonely, "rendered", "server01", "cidata", "user-data"))).toBe(true);

        const init = run(["init"]);
        expect(init.rc).toBe(0);
        expect(init.stdout).toContain(`starbase ${packageJson.version}`);

        const piped = await intoClosedPipe(["plan", "examples/cluster.yaml", "--offline"], "stdout", binary);
        expect(piped.rc).toBe(EXIT_CLOSED_PIPE);
        expectQuiet(piped.other);
      });
    },
    120_000,
  );

  test("ignores a .env file in the working directory", async () => {
    await withTempDir(async (dir) => {
      const binary = join(dir, "starbase");
      await compileStarbase(hostTarget, binary, "abc1234");
      await Bun.write(join(dir, "cluster.yaml"), exampleText);
      // If the binary loaded .env, this would make render succeed.
      await Bun.write(join(dir, ".env"), "STARBASE_HOSTKEY_SECRET=from-dotenv\n");
      const render = starbase(["render", "cluster.yaml", "--out", "out"], { binary, cwd: dir });
      expect(render.rc).toBe(1);
      expect(render.stderr).toContain("STARBASE_HOSTKEY_SECRET is not set");
    });
  }, 120_000);
});
