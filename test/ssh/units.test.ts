// The SSH layer's pure parts: quoting (checked by a real shell), the put script (run by a real
// sh on a local directory), backoff, host-key checks and their messages, key files.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostKey } from "../../src/render/hostkeys.ts";
import { authFailureMessage, Credentials } from "../../src/ssh/auth.ts";
import { CommandTimeoutError, HostKeyMismatchError, SshError } from "../../src/ssh/errors.ts";
import { remoteCommand, shellCommand, shellQuote } from "../../src/ssh/exec.ts";
import { jumpChain, parseJumpHosts } from "../../src/ssh/jump.ts";
import { fingerprint } from "../../src/ssh/known-hosts.ts";
import { backoffDelay, DEFAULT_CONNECT_RETRY } from "../../src/ssh/pool.ts";
import { PUT_HASH_MISMATCH, putScript, sha256Hex } from "../../src/ssh/put.ts";
import { hostKeyCheck, preferredAlgorithms } from "../../src/ssh/verify.ts";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-ssh-units-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sh(script: string, stdin?: string | Uint8Array): { code: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync(["sh", "-c", script], { stdin: stdin === undefined ? "ignore" : new Blob([stdin]), stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

describe("quoting", () => {
  const nasty = ["plain", "", "two words", "it's", "a'b'c", "$HOME", "`id`", "back\\slash", "new\nline", "*", "-n", "ümlaut", "; rm -rf /"];
  test("a real shell gets every argument back unchanged", () => {
    const out = sh(`printf '%s\\0' ${shellCommand(nasty)}`).stdout;
    expect(out.split("\0").slice(0, -1)).toEqual(nasty);
  });
  test("safe words stay unquoted", () => {
    expect(shellQuote("/etc/rancher/rke2/config.yaml")).toBe("/etc/rancher/rke2/config.yaml");
    expect(shellQuote("a b")).toBe("'a b'");
  });
  test("remoteCommand limits the command on the host and goes through sudo -n for a non-root user only", () => {
    const command = `printf '%s' "it's $((1+2))"`;
    expect(remoteCommand(command, "root", 60_000)).toBe(`timeout -k 5 61 sh -c ${shellQuote(command)}`);
    expect(remoteCommand("true", "root", 1500)).toBe("timeout -k 5 2.5 sh -c true");
    const wrapped = remoteCommand(command, "ops", 60_000);
    expect(wrapped).toStartWith("sudo -n timeout -k 5 61 sh -c ");
    // Without the sudo -n it runs here: the quoting is what is tested.
    expect(sh(wrapped.replace(/^sudo -n /, ""))).toEqual({ code: 0, stdout: "it's 3", stderr: "" });
  });
  test("the host's timeout kills the command's whole process group", () => {
    const started = performance.now();
    // Durations no other process on a shared machine sleeps for, so that pgrep finds only ours.
    const result = sh(`${remoteCommand(`sh -c 'sleep 30.2718; echo late' & sleep 31.4159`, "root", 200)}; echo "rc=$?"`);
    expect(performance.now() - started).toBeLessThan(5000);
    expect(result.stdout).toBe("rc=124\n");
    expect(Bun.spawnSync(["pgrep", "-f", "sleep 3(0.2718|1.4159)"]).stdout.toString()).toBe("");
  });
});

describe("put script (run by a local sh)", () => {
  test("writes the file with the mode, leaves no temporary file, prints the hash", () => {
    const path = join(dir, "conf", "a file's name.yaml");
    const content = "token: x\n".repeat(1000);
    const result = sh(putScript(path, sha256Hex(content), { mode: 0o640, createParent: true }), content);
    expect(result).toMatchObject({ code: 0, stdout: `${sha256Hex(content)}\n` });
    expect(readFileSync(path, "utf8")).toBe(content);
    expect((statSync(path).mode & 0o777).toString(8)).toBe("640");
    expect(readdirSync(join(dir, "conf"))).toEqual(["a file's name.yaml"]);
  });
  test("a hash mismatch keeps the old file and removes the temporary one", () => {
    const path = join(dir, "keep.txt");
    writeFileSync(path, "old\n");
    const result = sh(putScript(path, sha256Hex("something else"), { mode: 0o600 }), "new\n");
    expect(result.code).toBe(PUT_HASH_MISMATCH);
    expect(result.stderr).toContain(sha256Hex("new\n"));
    expect(readFileSync(path, "utf8")).toBe("old\n");
    expect(readdirSync(dir).filter((name) => name.startsWith(".starbase-put"))).toEqual([]);
  });
  test("a missing directory fails without createParent", () => {
    const result = sh(putScript(join(dir, "nope", "x"), sha256Hex("x"), { mode: 0o644 }), "x");
    expect(result.code).not.toBe(0);
  });
  test("binary content and an empty file survive", () => {
    const bytes = new Uint8Array(256).map((_, i) => i);
    const path = join(dir, "bin");
    expect(sh(putScript(path, sha256Hex(bytes), { mode: 0o600 }), bytes).code).toBe(0);
    expect(Buffer.from(readFileSync(path)).equals(Buffer.from(bytes))).toBe(true);
    expect(sh(putScript(path, sha256Hex(""), { mode: 0o600 }), "").code).toBe(0);
    expect(readFileSync(path, "utf8")).toBe("");
  });
  test("relative paths are refused", () => {
    expect(() => putScript("etc/x", sha256Hex(""), { mode: 0o600 })).toThrow("not an absolute file path");
  });
});

test("backoff doubles from the initial delay up to the cap", () => {
  const delays = Array.from({ length: 8 }, (_, attempt) => backoffDelay(attempt, DEFAULT_CONNECT_RETRY));
  expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 8000, 8000, 8000]);
  expect(backoffDelay(5000, DEFAULT_CONNECT_RETRY)).toBe(8000);
});

describe("host-key checks", () => {
  const derived = hostKey("a-secret-of-at-least-16-bytes", "lab", "node1");
  const other = hostKey("a-secret-of-at-least-16-bytes", "lab", "node2");
  const blobOf = (publicKey: string) => Buffer.from(publicKey.split(" ")[1] ?? "", "base64");

  test("a pinned (derived) key is accepted; another is refused with both fingerprints, not retryable", () => {
    const check = hostKeyCheck("node1", "198.18.0.11", 22, { kind: "pinned", publicKeys: [derived.publicKey], source: "derived from ssh.hostKeySecret" });
    expect(check.serverHostKeyAlgorithms[0]).toBe("ssh-ed25519");
    expect(check.verify(blobOf(derived.publicKey))).toBe(true);
    expect(check.failure()).toBeUndefined();
    expect(check.verify(blobOf(other.publicKey))).toBe(false);
    const failure = check.failure();
    expect(failure).toBeInstanceOf(HostKeyMismatchError);
    expect(failure?.retryable).toBe(false);
    expect(failure?.message).toStartWith("node1: host key mismatch");
    expect(failure?.message).toContain(fingerprint(blobOf(derived.publicKey)));
    expect(failure?.message).toContain(fingerprint(blobOf(other.publicKey)));
    expect(failure?.message).toContain("derived from ssh.hostKeySecret");
    expect(failure?.message).toMatch(/presented SHA256:[A-Za-z0-9+/]{43}, expected SHA256:[A-Za-z0-9+/]{43}/);
  });

  test("known_hosts: changed, unknown (with advice), accept-new, revoked", () => {
    const file = join(dir, "kh");
    writeFileSync(file, `bastion ${derived.publicKey}\n@revoked * ${other.publicKey}\n`);
    const changed = hostKeyCheck("jump host ops@bastion", "bastion", 22, { kind: "known-hosts", file, acceptNew: true });
    expect(changed.verify(blobOf(hostKey("s".repeat(20), "x", "y").publicKey))).toBe(false);
    expect(changed.failure()).toBeInstanceOf(HostKeyMismatchError);
    expect(changed.failure()?.message).toContain(`${file}:1`);

    const revoked = hostKeyCheck("gw", "gw", 22, { kind: "known-hosts", file, acceptNew: true });
    expect(revoked.verify(blobOf(other.publicKey))).toBe(false);
    expect(revoked.failure()?.message).toContain("@revoked");

    const strict = hostKeyCheck("gw", "gw", 2222, { kind: "known-hosts", file, acceptNew: false });
    expect(strict.verify(blobOf(derived.publicKey))).toBe(false);
    expect(strict.failure()?.message).toContain("ssh-keyscan -p 2222 gw");
    expect(strict.failure()?.message).toContain("ssh.acceptNewHostKeys");
    expect(readFileSync(file, "utf8")).not.toContain("[gw]:2222");

    const acceptNew = hostKeyCheck("gw", "gw", 2222, { kind: "known-hosts", file, acceptNew: true });
    expect(acceptNew.verify(blobOf(derived.publicKey))).toBe(true);
    expect(acceptNew.accepted()).toStartWith("[gw]:2222 ssh-ed25519 ");
    const again = hostKeyCheck("gw", "gw", 2222, { kind: "known-hosts", file, acceptNew: false });
    expect(again.verify(blobOf(derived.publicKey))).toBe(true);
    expect(again.verify(blobOf(hostKey("t".repeat(20), "x", "y").publicKey))).toBe(false); // accepted once, pinned afterwards
  });

  test("an unreadable known_hosts file is an error naming it", () => {
    expect(() => hostKeyCheck("gw", "gw", 22, { kind: "known-hosts", file: dir, acceptNew: false })).toThrow(`cannot read known_hosts file ${dir}`);
  });

  test("algorithm preference puts known types first and keeps the rest", () => {
    expect(preferredAlgorithms(["ssh-rsa"]).slice(0, 3)).toEqual(["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]);
    expect(preferredAlgorithms([]).length).toBe(preferredAlgorithms(["ssh-rsa"]).length);
  });
});

describe("key files and messages", () => {
  const run = (argv: string[]) => expect(Bun.spawnSync(argv).exitCode).toBe(0);
  test("an encrypted key asks for its passphrase once; a wrong one and a missing file are named, the passphrase never", async () => {
    const path = join(dir, "id_enc");
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "correct horse", "-f", path]);
    let asked = 0;
    const good = new Credentials({ privateKeyFile: path, passphrase: async () => (asked++, "correct horse") });
    const key = await good.privateKey("node1");
    expect(key.isPrivateKey()).toBe(true);
    await good.privateKey("node2");
    expect(asked).toBe(1);

    const wrong = new Credentials({ privateKeyFile: path, passphrase: async () => "wrong horse" });
    const error = await wrong.privateKey("node1").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SshError);
    expect((error as SshError).message).toBe(`node1: cannot decrypt private key file ${path}: wrong passphrase?`);

    const none = await new Credentials({ privateKeyFile: path }).privateKey("node1").catch((e: unknown) => e);
    expect((none as SshError).message).toContain("is encrypted and no passphrase was given");

    const missing = await new Credentials({ privateKeyFile: join(dir, "absent") }).privateKey("node1").catch((e: unknown) => e);
    expect((missing as SshError).message).toBe(`node1: cannot read private key file ${join(dir, "absent")}: ENOENT`);
    expect((missing as SshError).retryable).toBe(false);

    const publicOnly = await new Credentials({ privateKeyFile: `${path}.pub` }).privateKey("node1").catch((e: unknown) => e);
    expect((publicOnly as SshError).message).toContain("holds a public key");
  }, 30_000); // bcrypt key derivation, several times: seconds on a loaded machine

  test("the auth failure names the user and everything tried", () => {
    expect(authFailureMessage("ops", ["ssh-agent at /run/a.sock", "key file /k"])).toBe(
      "authentication as ops failed: tried ssh-agent at /run/a.sock, key file /k; the key must be in ssh.authorizedKeys on the host",
    );
    expect(authFailureMessage("root", [])).toContain("nothing (no ssh-agent socket and no ssh.privateKey)");
    expect(new Credentials({ agentSocket: "/a", privateKeyFile: "/k" }).describe()).toEqual(["ssh-agent at /a", "key file /k"]);
  });

  test("a timeout names the command and the time", () => {
    const error = new CommandTimeoutError("node1", "systemctl restart rke2-server", 1500);
    expect(error.message).toBe("node1: command timed out after 1.5s: systemctl restart rke2-server");
    expect(error.retryable).toBe(true);
  });
});

describe("jump chains (ProxyJump syntax)", () => {
  test("hops in order, default user and port, bracketed IPv6", () => {
    expect(parseJumpHosts("ops@bastion.lan,inner:2222,[fd00::1]:22", "root")).toEqual([
      { user: "ops", host: "bastion.lan", port: 22 },
      { user: "root", host: "inner", port: 2222 },
      { user: "root", host: "fd00::1", port: 22 },
    ]);
  });
  test("the pool's chain checks every hop against known_hosts", () => {
    expect(jumpChain(undefined, "root", { file: "/k", acceptNew: false })).toEqual([]);
    expect(jumpChain("a,ops@b:2", "root", { file: "/k", acceptNew: true })).toEqual([
      { user: "root", host: "a", port: 22, hostKey: { kind: "known-hosts", file: "/k", acceptNew: true } },
      { user: "ops", host: "b", port: 2, hostKey: { kind: "known-hosts", file: "/k", acceptNew: true } },
    ]);
  });
  test("a malformed hop is refused naming it", () => {
    expect(() => parseJumpHosts("ops@a,,b", "root")).toThrow('jump host "" is not user@host[:port]');
    expect(() => parseJumpHosts("a:70000", "root")).toThrow('jump host "a:70000"');
    expect(() => parseJumpHosts("a b", "root")).toThrow();
  });
});
