// `npm run build` (bun build.ts [--outdir DIR]): ./starbase for this machine.
// `npm run release` (bun build.ts --release [--outdir DIR]): dist/starbase-linux-{x64,arm64}{,-musl}
// and dist/SHA256SUMS. Cross-compiling uses bun's runtime for each target, which bun downloads from
// the npm registry once and keeps in its install cache.
// Version and commit are baked in with --define; templates are embedded by their text imports.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { writeSpecValidator } from "./codegen/spec-validator.ts";
import packageJson from "./package.json" with { type: "json" };

const root = import.meta.dir;

/** Bun's name for "the platform bun itself runs on" (glibc or musl alike). */
export const hostTarget = "bun";

/** The release binaries: Linux x64 and arm64, each for glibc and for musl (e.g. an Alpine jump host). */
export const RELEASE_TARGETS = ["bun-linux-x64", "bun-linux-arm64", "bun-linux-x64-musl", "bun-linux-arm64-musl"];

function gitCommit(): string {
  const git = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: root, stdout: "pipe", stderr: "ignore" });
  const commit = git.stdout.toString().trim();
  return git.exitCode === 0 && commit !== "" ? commit : "unknown";
}

export interface CompileOptions {
  /** false: compile in a network namespace of its own, so a runtime missing from bun's cache fails instead of downloading. */
  network?: boolean;
}

/** Compiles src/main.ts into a standalone executable for `target` (e.g. "bun-linux-arm64-musl"). */
export async function compileStarbase(target: string, outfile: string, commit = gitCommit(), options: CompileOptions = {}): Promise<void> {
  const isolate = options.network === false ? ["unshare", "--net", "--"] : [];
  const proc = Bun.spawn(
    [
      ...isolate,
      process.execPath,
      "build",
      "src/main.ts",
      "--compile",
      `--target=${target}`,
      `--outfile=${outfile}`,
      // Measured (bench/plan.ts): bytecode roughly thirds start-up (23 → 8 ms) and speeds plan.
      // Bun builds bytecode for every release target (checked with `npm run release`).
      "--minify",
      "--bytecode",
      // The binary must behave the same in every directory: no .env or bunfig.toml from the cwd.
      "--no-compile-autoload-dotenv",
      "--no-compile-autoload-bunfig",
      `--define=STARBASE_VERSION=${JSON.stringify(packageJson.version)}`,
      `--define=STARBASE_COMMIT=${JSON.stringify(commit)}`,
    ],
    { cwd: root, stdout: "pipe", stderr: "pipe" },
  );
  const [code, stdout, stderr] = await Promise.all([
    proc.exited,
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
  ]);
  if (code !== 0) {
    const hint = options.network === false ? "\n(compiled without network: `npm test` puts bun's runtime for this target into bun's cache first)" : "";
    throw new Error(`bun build --target=${target} failed (exit ${code}):\n${stdout}${stderr}${hint}`);
  }
}

/** dist/ file name of a release target: bun-linux-x64-musl → starbase-linux-x64-musl. */
export function releaseFileName(target: string): string {
  return target.replace(/^bun-/, "starbase-");
}

export interface ReleaseOptions extends CompileOptions {
  log?: (line: string) => void;
}

/** Compiles `targets` into `outDir` and writes their SHA-256 sums as `outDir`/SHA256SUMS (`sha256sum -c` format). */
export async function release(outDir: string, targets: readonly string[], commit: string, options: ReleaseOptions = {}): Promise<void> {
  const { log = console.log, ...compile } = options;
  mkdirSync(outDir, { recursive: true });
  const files = targets.map((target) => join(outDir, releaseFileName(target)));
  await Promise.all(
    targets.map(async (target, index) => {
      const started = performance.now();
      await compileStarbase(target, files[index] ?? "", commit, compile);
      log(`${files[index]}  (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    }),
  );
  const sums = files.map((file) => `${createHash("sha256").update(readFileSync(file)).digest("hex")}  ${basename(file)}\n`);
  writeFileSync(join(outDir, "SHA256SUMS"), sums.join(""));
  log(`${join(outDir, "SHA256SUMS")}`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { release: { type: "boolean", default: false }, outdir: { type: "string" } } });
  const commit = gitCommit();
  console.log(`starbase ${packageJson.version} (commit ${commit})`);
  // Steps that generate sources for the binary go here, one call each, before any compile.
  writeSpecValidator(); // embedded: the binary never compiles the schema at run time
  if (values.release) {
    await release(resolve(values.outdir ?? join(root, "dist")), RELEASE_TARGETS, commit);
  } else {
    const outfile = join(resolve(values.outdir ?? root), "starbase");
    await compileStarbase(hostTarget, outfile, commit);
    console.log(`${outfile}  (this machine)`);
  }
}

if (import.meta.main) await main();
