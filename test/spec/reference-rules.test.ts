// What validate can see of the secrets and the CA the spec refers to: what is there is checked
// (type, mode, length, PEM), what is not there yet is left to the command that needs it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCluster } from "../../src/plan/load.ts";
import { formatDiagnostic } from "../../src/spec/diagnostics.ts";

const BASE = readFileSync(join(import.meta.dir, "valid-base.yaml"), "utf8");
const HOSTKEY_REF = "hostKeySecret: { env: STARBASE_HOSTKEY_SECRET }";

let dir = "";
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sbspec-refs-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The diagnostics (as printed) of the base spec with hostKeySecret replaced by `ref`. */
async function withHostKeySecret(ref: string, env: Record<string, string | undefined> = {}): Promise<string[]> {
  const file = join(dir, "cluster.yaml");
  writeFileSync(file, BASE.replace(HOSTKEY_REF, `hostKeySecret: ${ref}`));
  return (await loadCluster(file, env)).diagnostics.map((d) => formatDiagnostic(d).replace(`${file}:`, ""));
}

const AT = "12:18"; // the value of ssh.hostKeySecret in valid-base.yaml

describe("ssh.hostKeySecret's length, wherever the secret is", () => {
  test("below 16 bytes: an error; below 32: a warning; 32 and more: nothing", async () => {
    const short = await withHostKeySecret("{ env: SB_HOSTKEY }", { SB_HOSTKEY: "fifteen-bytes!!" });
    expect(short).toEqual([
      `${AT}: error: ssh.hostKeySecret: 15 bytes is too short; every VM's SSH host key is derived from it (at least 16 bytes, better 32)\n  hint: generate one with: openssl rand -base64 32`,
    ]);
    expect(await withHostKeySecret("{ env: SB_HOSTKEY }", { SB_HOSTKEY: "x".repeat(16) })).toEqual([
      `${AT}: warning: ssh.hostKeySecret: 16 bytes; use 32 or more, every VM's SSH host key is derived from it\n  hint: generate one with: openssl rand -base64 32`,
    ]);
    expect(await withHostKeySecret("{ env: SB_HOSTKEY }", { SB_HOSTKEY: "x".repeat(32) })).toEqual([]);
  });

  test("bytes, not characters: eight ü are 16 bytes", async () => {
    expect((await withHostKeySecret("{ env: SB_HOSTKEY }", { SB_HOSTKEY: "ü".repeat(8) }))[0]).toContain("warning: ssh.hostKeySecret: 16 bytes");
  });

  test("from a file, trailing newline dropped; the value is never printed", async () => {
    const secret = join(dir, "short.secret");
    writeFileSync(secret, "tiny-secret\n", { mode: 0o600 });
    chmodSync(secret, 0o600);
    const printed = await withHostKeySecret(`{ file: ${secret} }`);
    expect(printed).toHaveLength(1);
    expect(printed[0]).toStartWith(`${AT}: error: ssh.hostKeySecret: 11 bytes is too short`);
    expect(printed.join("\n")).not.toContain("tiny-secret");
  });

  test("an unset variable or a missing file is not validate's business", async () => {
    expect(await withHostKeySecret("{ env: SB_HOSTKEY }", { SB_HOSTKEY: undefined })).toEqual([]);
    expect(await withHostKeySecret(`{ file: ${join(dir, "not-yet.secret")} }`)).toEqual([]);
  });

  test("an empty variable is an error at the reference", async () => {
    expect(await withHostKeySecret("{ env: SB_HOSTKEY }", { SB_HOSTKEY: "" })).toEqual([
      `${AT}: error: ssh.hostKeySecret: environment variable SB_HOSTKEY is empty\n  hint: export SB_HOSTKEY=… (the secret itself)`,
    ]);
  });
});

describe("secret files", () => {
  test("readable by every user: a warning with the chmod that fixes it", async () => {
    const secret = join(dir, "open.secret");
    writeFileSync(secret, `${"s".repeat(40)}\n`);
    chmodSync(secret, 0o644);
    expect(await withHostKeySecret(`{ file: ${secret} }`)).toEqual([
      `${AT}: warning: ssh.hostKeySecret: secret file ${secret} is readable by every user (mode 0644)\n  hint: chmod 600 ${secret}`,
    ]);
    chmodSync(secret, 0o640);
    expect(await withHostKeySecret(`{ file: ${secret} }`)).toEqual([]);
  });

  test("a FIFO is an error at validate time, without blocking", async () => {
    const fifo = join(dir, "fifo.secret");
    expect(Bun.spawnSync(["mkfifo", fifo]).exitCode).toBe(0);
    expect(await withHostKeySecret(`{ file: ${fifo} }`)).toEqual([
      `${AT}: error: ssh.hostKeySecret: secret file ${fifo} is a named pipe (FIFO), not a regular file`,
    ]);
  });

  test("a UTF-16 secret file (PowerShell's `echo > file`) is named as such", async () => {
    const utf16 = join(dir, "utf16.secret");
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(`${"s".repeat(40)}\r\n`, "utf16le")]), { mode: 0o600 });
    chmodSync(utf16, 0o600);
    expect(await withHostKeySecret(`{ file: ${utf16} }`)).toEqual([`${AT}: error: ssh.hostKeySecret: secret file ${utf16} is UTF-16; save it as UTF-8`]);
  });
});
