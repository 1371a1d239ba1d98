import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { basename, join } from "node:path";
import { SpecReferenceError } from "../../src/spec/references.ts";
import { resolveSecret } from "../../src/spec/secrets.ts";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sbspec-secrets-"));
  mkdirSync(join(dir, "secrets"));
  writeFileSync(join(dir, "secrets", "token"), "abc-123\n");
  writeFileSync(join(dir, "crlf"), "line1\r\nline2\r\n\r\n");
  writeFileSync(join(dir, "blank"), "\n\n");
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function thrown(fn: () => unknown): SpecReferenceError {
  try {
    fn();
  } catch (error) {
    if (error instanceof SpecReferenceError) return error;
    throw error;
  }
  throw new Error("expected a SpecReferenceError");
}

describe("resolveSecret", () => {
  test("an inline string is the secret itself", () => {
    expect(resolveSecret("inline-value", dir, ["proxmox", "tokenSecret"], {})).toBe("inline-value");
  });

  test("env: reads the variable from the environment it is given, not the process's", () => {
    expect(resolveSecret({ env: "SBSPEC_TEST_SECRET" }, dir, ["proxmox", "tokenSecret"], { SBSPEC_TEST_SECRET: "from-env" })).toBe("from-env");
    process.env["SBSPEC_TEST_PROCESS"] = "from-process";
    try {
      expect(thrown(() => resolveSecret({ env: "SBSPEC_TEST_PROCESS" }, dir, ["x"], {})).message).toBe("x: environment variable SBSPEC_TEST_PROCESS is not set");
    } finally {
      delete process.env["SBSPEC_TEST_PROCESS"];
    }
  });

  test("an unset or empty variable names the field and the variable", () => {
    const unset = thrown(() => resolveSecret({ env: "SBSPEC_TEST_UNSET" }, dir, ["ssh", "hostKeySecret"], {}));
    expect(unset.message).toBe("ssh.hostKeySecret: environment variable SBSPEC_TEST_UNSET is not set");
    expect(unset.path).toEqual(["ssh", "hostKeySecret"]);
    expect(unset.hint).toBe("export SBSPEC_TEST_UNSET=…");
    expect(thrown(() => resolveSecret({ env: "SBSPEC_TEST_EMPTY" }, dir, ["x"], { SBSPEC_TEST_EMPTY: "" })).message).toBe("x: environment variable SBSPEC_TEST_EMPTY is empty");
  });

  test("file: is relative to the spec's directory and loses its trailing newline", () => {
    expect(resolveSecret({ file: "secrets/token" }, dir, ["f"], {})).toBe("abc-123");
    expect(resolveSecret({ file: join(dir, "secrets", "token") }, "/elsewhere", ["f"], {})).toBe("abc-123");
  });

  test("only trailing newlines go; inner ones stay", () => {
    expect(resolveSecret({ file: "crlf" }, dir, ["f"], {})).toBe("line1\r\nline2");
  });

  test("~ is the home directory", () => {
    const home = mkdtempSync(join(homedir(), ".sbspec-secret-"));
    try {
      writeFileSync(join(home, "s"), "home-secret\n");
      expect(resolveSecret({ file: `~/${basename(home)}/s` }, dir, ["f"], {})).toBe("home-secret");
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  test("a missing, empty or unreadable file names the field and path, never content", () => {
    expect(thrown(() => resolveSecret({ file: "secrets/nope" }, dir, ["loadBalancer", "vrrp", "authPass"], {})).message).toBe(
      `loadBalancer.vrrp.authPass: secret file ${join(dir, "secrets", "nope")} does not exist`,
    );
    expect(thrown(() => resolveSecret({ file: "blank" }, dir, ["f"], {})).message).toBe(`f: secret file ${join(dir, "blank")} is empty`);
    expect(thrown(() => resolveSecret({ file: "secrets" }, dir, ["f"], {})).message).toBe(`f: secret file ${join(dir, "secrets")} is a directory`);
  });

  test("an empty inline secret is refused", () => {
    expect(thrown(() => resolveSecret("", dir, ["proxmox", "tokenSecret"], {})).message).toBe("proxmox.tokenSecret: the inline secret is empty");
  });
});
