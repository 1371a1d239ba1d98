// `npm test` (scripts/test.ts) brings the Debian packages the suite needs: as root it installs
// the missing ones, otherwise it stops at once with the apt-get line. dpkg-query and apt-get are
// fakes on PATH here, so nothing is installed.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { DEBIAN_PACKAGES, packageStep, wantedPackages } from "../../scripts/test.ts";

const ROOT = resolve(import.meta.dir, "..", "..");

describe("the test runner's package step", () => {
  test("nothing missing: nothing to do, root or not", () => {
    expect(packageStep([], true)).toEqual({ action: "none" });
    expect(packageStep([], false)).toEqual({ action: "none" });
  });

  test("root installs the missing packages; anyone else gets the exact apt-get line", () => {
    expect(packageStep(["haproxy", "musl-tools"], true)).toEqual({ action: "install", packages: ["haproxy", "musl-tools"] });
    const stop = packageStep(["haproxy", "musl-tools"], false);
    expect(stop.action).toBe("stop");
    expect(stop.action === "stop" && stop.message.split("\n")).toContain("  sudo apt-get install -y --no-install-recommends haproxy musl-tools");
  });

  test("the list covers the tools the suite runs, the musl binary test and the lab", () => {
    const needed = ["openssh-server", "haproxy", "keepalived", "cloud-init", "netplan.io", "xorriso", "genisoimage", "file", "graphviz", "openssl", "musl-tools", "binutils", "systemd-container", "mmdebstrap"];
    expect(Object.keys(DEBIAN_PACKAGES)).toEqual(expect.arrayContaining(needed));
  });

  test("kubernetes-client only when no kubectl is on PATH (another package's kubectl would conflict)", () => {
    expect(wantedPackages(false)).toContain("kubernetes-client");
    expect(wantedPackages(true)).not.toContain("kubernetes-client");
    expect(wantedPackages(true)).toEqual(Object.keys(DEBIAN_PACKAGES));
  });
});

describe("npm test with packages missing", () => {
  const scratch = mkdtempSync(join(tmpdir(), "test-runner-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  chmodSync(scratch, 0o755);
  const aptLog = join(scratch, "apt-get.log");
  const missing = ["haproxy", "xorriso"];
  // dpkg-query -W -f=FORMAT NAME…: every package is installed except the missing ones.
  writeFileSync(
    join(scratch, "dpkg-query"),
    `#!/bin/sh\nshift 2\nfor p in "$@"; do case " ${missing.join(" ")} " in *" $p "*) echo "dpkg-query: no packages found matching $p" >&2;; *) echo "$p install ok installed";; esac; done\n`,
  );
  // apt-get records its arguments; its install fails, so the runner stops before the suite.
  writeFileSync(join(scratch, "apt-get"), `#!/bin/sh\necho "$*" >> ${aptLog}\n[ "$1" = update ] || exit 100\n`);
  chmodSync(join(scratch, "dpkg-query"), 0o755);
  chmodSync(join(scratch, "apt-get"), 0o755);

  function runner(prefix: string[]): { rc: number; stdout: string; stderr: string } {
    const result = Bun.spawnSync([...prefix, process.execPath, "scripts/test.ts", "test/does-not-exist"], {
      cwd: ROOT,
      env: { ...process.env, PATH: `${scratch}:${process.env.PATH}`, HOME: scratch },
      stdout: "pipe",
      stderr: "pipe",
    });
    return { rc: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
  }

  test("not root: prints the apt-get line and exits non-zero at once", () => {
    const asNobody = process.getuid?.() === 0 ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
    const run = runner(asNobody);
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain(`not installed: ${missing.join(" ")}\n`);
    expect(run.stderr.split("\n")).toContain(`  sudo apt-get install -y --no-install-recommends ${missing.join(" ")}`);
    expect(existsSync(aptLog)).toBe(false);
    expect(run.stdout + run.stderr).not.toContain("bun test");
  });

  test("root: says which packages it installs and runs apt-get update, then apt-get install of exactly those", () => {
    // A user namespace makes a non-root caller root (the kernel refuses one inside a chroot, where root needs none).
    const run = runner(process.getuid?.() === 0 ? [] : ["unshare", "--user", "--map-root-user"]);
    expect(run.stdout).toContain(`installing the Debian packages the tests need: ${missing.join(" ")}`);
    const install = `install -y -qq --no-install-recommends ${missing.join(" ")}`;
    expect(readFileSync(aptLog, "utf8")).toBe(`update -qq\n${install}\n`);
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain(`apt-get ${install} failed`);
    expect(run.stdout + run.stderr).not.toContain("bun test");
  });
});

describe("npm test and kubectl", () => {
  const scratch = mkdtempSync(join(tmpdir(), "test-runner-kubectl-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  chmodSync(scratch, 0o755);
  const aptLog = join(scratch, "apt-get.log");
  // haproxy and kubernetes-client are not installed; apt-get records its arguments and fails the
  // install, so the runner stops there either way.
  writeFileSync(
    join(scratch, "dpkg-query"),
    `#!/bin/sh\nshift 2\nfor p in "$@"; do case "$p" in haproxy|kubernetes-client) ;; *) echo "$p install ok installed";; esac; done\n`,
  );
  writeFileSync(join(scratch, "apt-get"), `#!/bin/sh\necho "$*" >> ${aptLog}\n[ "$1" = update ] || exit 100\n`);
  chmodSync(join(scratch, "dpkg-query"), 0o755);
  chmodSync(join(scratch, "apt-get"), 0o755);

  /** The runner with PATH = the fakes (+ a kubectl when asked), nothing else, as root (user namespace if need be). */
  function runner(withKubectl: boolean): { stdout: string } {
    rmSync(aptLog, { force: true });
    const bin = join(scratch, withKubectl ? "with" : "without");
    rmSync(bin, { recursive: true, force: true });
    mkdirSync(bin);
    for (const tool of ["dpkg-query", "apt-get"]) symlinkSync(join(scratch, tool), join(bin, tool));
    if (withKubectl) writeFileSync(join(bin, "kubectl"), "#!/bin/sh\n", { mode: 0o755 });
    const asRoot = process.getuid?.() === 0 ? [] : ["unshare", "--user", "--map-root-user"];
    const result = Bun.spawnSync([...asRoot, process.execPath, "scripts/test.ts", "test/does-not-exist"], {
      cwd: ROOT,
      env: { PATH: bin, HOME: scratch },
      stdout: "pipe",
      stderr: "pipe",
    });
    return { stdout: result.stdout.toString() };
  }

  test("no kubectl on PATH: Debian's kubernetes-client is installed", () => {
    expect(runner(false).stdout).toContain("installing the Debian packages the tests need: haproxy kubernetes-client");
    expect(readFileSync(aptLog, "utf8")).toBe("update -qq\ninstall -y -qq --no-install-recommends haproxy kubernetes-client\n");
  });

  test("a kubectl on PATH (from any package): kubernetes-client is not asked for", () => {
    expect(runner(true).stdout).toContain("installing the Debian packages the tests need: haproxy\n");
    expect(readFileSync(aptLog, "utf8")).toBe("update -qq\ninstall -y -qq --no-install-recommends haproxy\n");
  });
});
