// `npm run release` cross-compiles the release binaries with their SHA-256 sums (binary.test.ts
// covers `npm run build`). The musl binary runs here in a root that holds musl's
// loader and libc and nothing of glibc's but libstdc++ and libgcc_s (see musl/glibc-compat.c).
import { describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync, readdirSync, symlinkSync } from "node:fs";
import { basename, join } from "node:path";
import packageJson from "../../package.json" with { type: "json" };
import { RELEASE_TARGETS, release } from "../../build.ts";
import { cleanEnv, exampleFile, jsonLines, repo, starbase, withTempDir } from "./run-starbase.ts";

function run(cmd: string[], cwd = repo): { rc: number; stdout: string; stderr: string } {
  const proc = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  return { rc: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

/** readelf's view of an ELF file: its program interpreter and the libraries it needs. */
function linkage(file: string): { interpreter: string | undefined; needed: string[] } {
  const headers = run(["readelf", "--program-headers", "--dynamic", "--wide", file]);
  if (headers.rc !== 0) throw new Error(`readelf ${file}: ${headers.stderr}`);
  return {
    interpreter: /Requesting program interpreter: ([^\]]+)\]/.exec(headers.stdout)?.[1],
    needed: [...headers.stdout.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((match) => match[1] ?? ""),
  };
}

/** The name musl's libc has beside a loader: /lib/ld-musl-x86_64.so.1 → libc.musl-x86_64.so.1. */
function muslLibc(loader: string): string {
  return basename(loader).replace(/^ld-musl-/, "libc.musl-");
}

/** Where ldconfig's cache says a library of this machine (glibc's world) is. */
function systemLibrary(name: string): string {
  const cache = run(["ldconfig", "-p"]).stdout;
  const path = cache.split("\n").find((line) => line.trim().startsWith(`${name} `))?.split(" => ")[1];
  if (!path) throw new Error(`${name} is not in ldconfig's cache`);
  return path.trim();
}

/**
 * A root with the binary, musl's loader (the Debian musl package's) and the libraries the binary
 * needs: libstdc++ and libgcc_s from Debian, built for glibc, with the few glibc symbols they use
 * that musl lacks supplied by glibc-compat.c under the name of glibc's loader, which libstdc++
 * lists as needed. No glibc libc or loader is in it.
 */
function muslRoot(dir: string, binary: string, loader: string): void {
  for (const sub of ["lib", "usr/lib", "work"]) mkdirSync(join(dir, sub), { recursive: true });
  copyFileSync(loader, join(dir, loader));
  // Alpine's name for musl's libc, which the binary lists as needed, is the loader itself.
  symlinkSync(basename(loader), join(dir, "lib", muslLibc(loader)));
  const libstdcxx = systemLibrary("libstdc++.so.6");
  copyFileSync(libstdcxx, join(dir, "usr/lib/libstdc++.so.6"));
  copyFileSync(systemLibrary("libgcc_s.so.1"), join(dir, "usr/lib/libgcc_s.so.1"));
  const glibcLoader = linkage(libstdcxx).needed.find((name) => name.startsWith("ld-linux"));
  if (!glibcLoader) throw new Error(`${libstdcxx} does not name glibc's loader; glibc-compat.c needs another way in`);
  const compat = run(["musl-gcc", "-shared", "-fPIC", "-O2", "-o", join(dir, "usr/lib", glibcLoader), join(import.meta.dir, "musl", "glibc-compat.c")]);
  if (compat.rc !== 0) throw new Error(`musl-gcc: ${compat.stderr}`);
  copyFileSync(binary, join(dir, "starbase"));
  copyFileSync(exampleFile, join(dir, "work", "cluster.yaml"));
}

/** Runs a command inside `root` as its root directory, with the environment of the test run. */
function inRoot(root: string, cmd: string[]): { rc: number; stdout: string; stderr: string } {
  const enter = process.getuid?.() === 0 ? ["chroot", root] : ["unshare", "--user", "--map-root-user", `--root=${root}`];
  const proc = Bun.spawnSync([...enter, ...cmd], { env: cleanEnv(), stdout: "pipe", stderr: "pipe" });
  return { rc: proc.exitCode, stdout: proc.stdout.toString(), stderr: proc.stderr.toString() };
}

describe("build and release", () => {
  test("the release targets are linux x64 and arm64, each for glibc and for musl", () => {
    expect([...RELEASE_TARGETS].sort()).toEqual(["bun-linux-arm64", "bun-linux-arm64-musl", "bun-linux-x64", "bun-linux-x64-musl"]);
  });

  test("a release writes the binaries and SHA256SUMS; the musl binary plans like the glibc one in a musl root", async () => {
    await withTempDir(async (dir) => {
      const glibc = `bun-linux-${process.arch}`;
      const musl = `${glibc}-musl`;
      const dist = join(dir, "dist");
      // No network for the compile: the musl runtime comes from bun's cache, where npm test put it.
      await release(dist, [glibc, musl], "abc1234", { network: false, log: () => {} });
      expect(readdirSync(dist).sort()).toEqual(["SHA256SUMS", `starbase-linux-${process.arch}`, `starbase-linux-${process.arch}-musl`]);
      const sums = run(["sha256sum", "--check", "--strict", "SHA256SUMS"], dist);
      expect(sums.rc).toBe(0);
      expect(sums.stdout).toBe(`starbase-linux-${process.arch}: OK\nstarbase-linux-${process.arch}-musl: OK\n`);

      const muslBinary = join(dist, `starbase-linux-${process.arch}-musl`);
      const muslLinkage = linkage(muslBinary);
      expect(muslLinkage.interpreter).toMatch(/^\/lib\/ld-musl-\w+\.so\.1$/);
      expect(muslLinkage.needed.sort()).toEqual([muslLibc(muslLinkage.interpreter ?? ""), "libstdc++.so.6"]);
      expect(linkage(join(dist, `starbase-linux-${process.arch}`)).needed).toContain("libc.so.6");

      const root = join(dir, "root");
      muslRoot(root, muslBinary, muslLinkage.interpreter ?? "");
      const version = inRoot(root, ["/starbase", "--version"]);
      expect(version).toEqual({ rc: 0, stdout: `starbase ${packageJson.version} (commit abc1234)\n`, stderr: "" });
      const plan = inRoot(root, ["/starbase", "plan", "/work/cluster.yaml", "--offline", "--output", "json"]);
      expect(plan.rc).toBe(0);
      const glibcPlan = starbase(["plan", exampleFile, "--offline", "--output", "json"], { binary: join(dist, `starbase-linux-${process.arch}`) });
      expect(jsonLines(plan.stdout)).toEqual(jsonLines(glibcPlan.stdout));
      expect((jsonLines(plan.stdout)[0]?.hosts as unknown[]).length).toBe(11);
    });
  }, 120_000);
});
