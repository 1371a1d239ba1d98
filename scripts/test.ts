// `npm test [-- bun test arguments]`: brings what the test suite needs, then runs it.
//  1. The Debian packages the tests use: as root, the missing ones are installed (apt-get);
//     otherwise it stops at once and prints the apt-get line that installs them. kubectl comes
//     from kubernetes-client only when no kubectl is on PATH.
//  2. Bun's runtime for musl on this machine's architecture, which the musl binary test compiles
//     against in a network namespace without network (bun keeps it in its install cache).
//  3. The drift check of the PVE API schema extract (scripts/pve-schema.ts --check).
//  4. bun test --timeout 120000, with the arguments given (e.g. `npm test -- test/cli`).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const repositoryRoot = resolve(import.meta.dir, "..");

/** The Debian packages the tests need, with what for. */
export const DEBIAN_PACKAGES: Record<string, string> = {
  "openssh-server": "real sshd nodes in network namespaces",
  "openssh-client": "ssh and ssh-keygen checks",
  keepalived: "the load balancers' daemon and its config check",
  haproxy: "the load balancers' proxy and its config check",
  "cloud-init": "cloud-init schema checks of rendered user-data",
  "netplan.io": "network-config v2 checks",
  xorriso: "reading seed ISOs back",
  genisoimage: "isoinfo, reading seed ISOs back",
  file: "what file(1) makes of a seed ISO",
  graphviz: "`graph --format dot` must render",
  iproute2: "network namespaces",
  socat: "test responders",
  psmisc: "process tools of the lab hosts",
  time: "/usr/bin/time in the start-up measurements",
  openssl: "certificates of the emulator and the TLS tests",
  "musl-tools": "the musl loader and libc, and musl-gcc, for running the musl binary",
  binutils: "readelf, to check what the binaries link",
  "systemd-container": "systemd-nspawn, which boots the lab hosts (test/lab)",
  mmdebstrap: "builds the lab hosts' Debian rootfs once (test/lab/rootfs.ts)",
};

/**
 * The Debian packages wanted on this machine: DEBIAN_PACKAGES, plus kubernetes-client for the
 * kubectl the lab's RKE2 tests use, unless a kubectl is already on PATH (it may come from
 * another package, which Debian's would conflict with).
 */
export function wantedPackages(kubectlOnPath: boolean): string[] {
  return [...Object.keys(DEBIAN_PACKAGES), ...(kubectlOnPath ? [] : ["kubernetes-client"])];
}

export type PackageStep =
  | { action: "none" }
  | { action: "install"; packages: string[] }
  | { action: "stop"; message: string };

/** What to do about missing packages: nothing, install them (root), or stop with the line that installs them. */
export function packageStep(missing: readonly string[], isRoot: boolean): PackageStep {
  if (missing.length === 0) return { action: "none" };
  if (isRoot) return { action: "install", packages: [...missing] };
  return {
    action: "stop",
    message:
      `The tests need Debian packages that are not installed: ${missing.join(" ")}\n` +
      "Install them, then run npm test again:\n" +
      `  sudo apt-get install -y --no-install-recommends ${missing.join(" ")}\n`,
  };
}

/** The packages of `wanted` that dpkg does not list as installed. */
function missingPackages(wanted: readonly string[]): string[] {
  const query = Bun.spawnSync(["dpkg-query", "-W", "-f=${Package} ${Status}\\n", ...wanted], { stdout: "pipe", stderr: "pipe" });
  const installed = new Set(
    query.stdout
      .toString()
      .split("\n")
      .filter((line) => line.endsWith(" install ok installed"))
      .map((line) => line.split(" ")[0]),
  );
  return wanted.filter((name) => !installed.has(name));
}

function run(command: string[]): number {
  return Bun.spawnSync(command, { cwd: repositoryRoot, stdio: ["inherit", "inherit", "inherit"] }).exitCode;
}

/** Runs apt-get quietly; its output is shown only when it fails. */
function aptGet(args: string[]): number {
  const apt = Bun.spawnSync(["apt-get", ...args], { env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" }, stdout: "pipe", stderr: "pipe" });
  if (apt.exitCode !== 0) return fail(`apt-get ${args.join(" ")} failed:\n${apt.stdout}${apt.stderr}`);
  return 0;
}

function bringPackages(): number {
  if (!Bun.which("dpkg-query")) {
    console.error(`npm test: no dpkg-query here; the tests run on Debian (or a derivative) with: ${Object.keys(DEBIAN_PACKAGES).join(" ")}`);
    return 1;
  }
  const step = packageStep(missingPackages(wantedPackages(Bun.which("kubectl") !== null)), process.getuid?.() === 0);
  if (step.action === "stop") {
    console.error(step.message);
    return 1;
  }
  if (step.action === "install") {
    console.log(`npm test: installing the Debian packages the tests need: ${step.packages.join(" ")}`);
    return aptGet(["update", "-qq"]) || aptGet(["install", "-y", "-qq", "--no-install-recommends", ...step.packages]);
  }
  return 0;
}

function fail(message: string): number {
  console.error(`npm test: ${message}`);
  return 1;
}

/** Compiles a one-line program for musl, which puts bun's musl runtime into its cache if it is not there yet. */
function bringMuslRuntime(): number {
  const target = `bun-linux-${process.arch}-musl`;
  const scratch = mkdtempSync(join(tmpdir(), "starbase-runtime-"));
  try {
    writeFileSync(join(scratch, "probe.ts"), "export {};\n");
    const build = Bun.spawnSync([process.execPath, "build", "probe.ts", "--compile", `--target=${target}`, "--outfile=probe"], {
      cwd: scratch,
      stdout: "pipe",
      stderr: "pipe",
    });
    if (build.exitCode !== 0) return fail(`could not fetch bun's ${target} runtime:\n${build.stdout}${build.stderr}`);
    return 0;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function main(args: string[]): number {
  const packages = bringPackages();
  if (packages !== 0) return packages;
  const runtime = bringMuslRuntime();
  if (runtime !== 0) return runtime;
  const drift = run([process.execPath, "scripts/pve-schema.ts", "--check"]);
  if (drift !== 0) return drift;
  return run([process.execPath, "test", "--timeout", "120000", ...args]);
}

if (import.meta.main) process.exit(main(process.argv.slice(2)));
