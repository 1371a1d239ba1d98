// The lab's package catalogue and snapshot switch, on a scratch root (no host needed): what a
// pending snapshot brings becomes active only through activatePending (the supervisor calls it
// between two boots), with the package's files (the RKE2 units) appearing then and going on removal.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { activatePending, readState, resolve, writeInstalled, writeState } from "./standins/packages.ts";

const scratch = mkdtempSync(join(tmpdir(), "lab-packages-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("resolve", () => {
  test("NAME takes the newest version, NAME=VERSION pins it (with or without the release), requirements follow at the same version when they have it", () => {
    expect(resolve(["rke2-server=1.33.5~rke2r1"])).toEqual({
      ok: true,
      install: { "rke2-server": "1.33.5~rke2r1-0", "rke2-common": "1.33.5~rke2r1-0", "rke2-selinux": "0.20-1" },
    });
    expect(resolve(["rke2-server=1.33.4~rke2r1-0"])).toMatchObject({ ok: true, install: { "rke2-server": "1.33.4~rke2r1-0", "rke2-common": "1.33.4~rke2r1-0" } });
    expect(resolve(["rke2-agent"])).toMatchObject({ ok: true, install: { "rke2-agent": "1.34.1~rke2r1-0", "rke2-common": "1.34.1~rke2r1-0" } });
    expect(resolve(["rke2-server=1.33.5"])).toEqual({ ok: false, message: "No provider of 'rke2-server=1.33.5' found." });
  });

  test("an unknown package or version is zypper's 'No provider'", () => {
    expect(resolve(["kubernetes"])).toEqual({ ok: false, message: "No provider of 'kubernetes' found." });
    expect(resolve(["haproxy=3.0"])).toEqual({ ok: false, message: "No provider of 'haproxy=3.0' found." });
  });
});

describe("activatePending", () => {
  const labSrc = join(scratch, "src");
  mkdirSync(join(labSrc, "rke2/units"), { recursive: true });
  writeFileSync(join(labSrc, "rke2/units/rke2-server.service"), "[Service]\nExecStart=/bin/true\n");

  test("first boot: base packages and cloud-init's, with their files", () => {
    const root = join(scratch, "first");
    expect(writeInstalled(root, labSrc, ["rke2-server", "made-up"])).toEqual([]);
    expect(readState(root).installed).toMatchObject({ rebootmgr: "3.3-1", "rke2-server": "1.34.1~rke2r1-0", "made-up": "0-lab" });
    expect(existsSync(join(root, "usr/lib/systemd/system/rke2-server.service"))).toBe(true);
  });

  test("nothing pending: nothing changes; pending: installs bring their units, removals take them away", () => {
    const root = join(scratch, "switch");
    writeInstalled(root, labSrc, []);
    expect(activatePending(root, labSrc)).toEqual([]);
    const unit = join(root, "usr/lib/systemd/system/rke2-server.service");
    writeState(root, { ...readState(root), pending: { number: 2, install: { "rke2-server": "1.33.5+rke2r1" }, remove: [] } });
    expect(existsSync(unit)).toBe(false);
    expect(activatePending(root, labSrc)).toEqual(["rke2-server - -> 1.33.5+rke2r1"]);
    expect(readFileSync(unit, "utf8")).toContain("ExecStart=/bin/true");
    expect(readState(root)).toMatchObject({ snapshot: 2, installed: { "rke2-server": "1.33.5+rke2r1" } });
    expect(readState(root).pending).toBeUndefined();

    writeState(root, { ...readState(root), pending: { number: 3, install: {}, remove: ["rke2-server"] } });
    expect(activatePending(root, labSrc)).toEqual(["rke2-server 1.33.5+rke2r1 -> removed"]);
    expect(existsSync(unit)).toBe(false);
  });

  test("a unit the lab sources lack is reported, not silently skipped", () => {
    const root = join(scratch, "missing");
    expect(writeInstalled(root, labSrc, ["rke2-agent"])).toEqual(["  missing rke2/units/rke2-agent.service: /usr/lib/systemd/system/rke2-agent.service not installed"]);
  });
});
