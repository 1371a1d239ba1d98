// known_hosts parsing and matching, checked against OpenSSH's own tools: ssh-keygen writes the
// keys, hashes the file (-H) and prints the fingerprints we must reproduce.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  appendKnownHost,
  checkKnownHost,
  fingerprint,
  hostFieldMatches,
  knownHostsName,
  knownKeyTypes,
  parseKnownHosts,
  parsePublicKeyLine,
  readKnownHosts,
} from "../../src/ssh/known-hosts.ts";

let dir: string;
const keys: Record<string, { line: string; blob: Buffer; fp: string }> = {};

function run(argv: string[]): string {
  const result = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${result.stderr.toString()}`);
  return result.stdout.toString();
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "sb-known-hosts-"));
  for (const [name, type] of [["a", "ed25519"], ["b", "ed25519"], ["r", "rsa"], ["e", "ecdsa"]] as const) {
    const path = join(dir, name);
    run(["ssh-keygen", "-q", "-t", type, ...(type === "rsa" ? ["-b", "2048"] : []), "-N", "", "-f", path]);
    const line = readFileSync(`${path}.pub`, "utf8").trim();
    const fp = run(["ssh-keygen", "-l", "-E", "sha256", "-f", `${path}.pub`]).split(" ")[1] ?? "";
    keys[name] = { line, blob: Buffer.from(line.split(" ")[1] ?? "", "base64"), fp };
  }
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

const pub = (name: string) => (keys[name]?.line ?? "").split(" ").slice(0, 2).join(" ");
const blob = (name: string) => keys[name]?.blob ?? Buffer.alloc(0);

test("fingerprints are those ssh-keygen -l prints", () => {
  for (const key of Object.values(keys)) expect(fingerprint(key.blob)).toBe(key.fp);
});

test("a public key line parses; a line whose type does not match its blob does not", () => {
  expect(parsePublicKeyLine(keys.a?.line ?? "")?.keyType).toBe("ssh-ed25519");
  expect(parsePublicKeyLine(`ssh-rsa ${keys.a?.line.split(" ")[1]}`)).toBeUndefined();
  expect(parsePublicKeyLine("ssh-ed25519 not*base64")).toBeUndefined();
});

test("names: port 22 plain, other ports bracketed", () => {
  expect(knownHostsName("node1", 22)).toBe("node1");
  expect(knownHostsName("198.18.0.11", 2222)).toBe("[198.18.0.11]:2222");
});

describe("host patterns", () => {
  test("comma lists, wildcards, case, negation", () => {
    expect(hostFieldMatches("bastion,198.18.1.11", "198.18.1.11")).toBe(true);
    expect(hostFieldMatches("BASTION.lan", "bastion.lan")).toBe(true);
    expect(hostFieldMatches("*.lan", "bastion.lan")).toBe(true);
    expect(hostFieldMatches("node?", "node1")).toBe(true);
    expect(hostFieldMatches("node?", "node12")).toBe(false);
    expect(hostFieldMatches("*.lan,!evil.lan", "evil.lan")).toBe(false);
    expect(hostFieldMatches("198.18.1.1", "198.18.1.11")).toBe(false);
    expect(hostFieldMatches("a.b", "axb")).toBe(false); // a dot is not a wildcard
  });
  test("[host]:port entries match only that port", () => {
    const file = parseKnownHosts(`[198.18.0.11]:2222 ${pub("a")}\n198.18.0.11 ${pub("b")}\n`, "kh");
    expect(checkKnownHost(file, "198.18.0.11", 2222, blob("a")).kind).toBe("known");
    expect(checkKnownHost(file, "198.18.0.11", 22, blob("a")).kind).toBe("changed");
    expect(checkKnownHost(file, "198.18.0.11", 22, blob("b")).kind).toBe("known");
  });
});

test("hashed entries written by ssh-keygen -H match, plain and [host]:port", () => {
  const path = join(dir, "hashed");
  writeFileSync(path, `bastion.lan ${pub("a")}\n[198.18.1.11]:2200 ${pub("b")}\n`);
  run(["ssh-keygen", "-q", "-H", "-f", path]);
  const text = readFileSync(path, "utf8");
  expect(text).not.toContain("bastion");
  expect(text.split("\n").filter((line) => line.startsWith("|1|")).length).toBe(2);
  const file = readKnownHosts(path);
  expect(checkKnownHost(file, "bastion.lan", 22, blob("a")).kind).toBe("known");
  expect(checkKnownHost(file, "198.18.1.11", 2200, blob("b")).kind).toBe("known");
  expect(checkKnownHost(file, "198.18.1.11", 22, blob("b")).kind).toBe("unknown");
  expect(checkKnownHost(file, "bastion.lan", 22, blob("b"))).toEqual({ kind: "changed", expected: [keys.a?.fp ?? ""], lines: [1] });
});

test("@revoked wins over a listed key; @cert-authority is reported, not trusted", () => {
  const file = parseKnownHosts(
    [`bastion ${pub("a")}`, `@revoked * ${pub("a")}`, `@cert-authority *.lan ${pub("e")}`, "garbage line", `@bogus x ${pub("a")}`].join("\n"),
    "kh",
  );
  expect(file.skipped).toEqual([4, 5]);
  expect(checkKnownHost(file, "bastion", 22, blob("a"))).toEqual({ kind: "revoked", line: 2 });
  expect(checkKnownHost(file, "gw.lan", 22, blob("b"))).toEqual({ kind: "unknown", certAuthorityLines: [3] });
});

test("key types of a host, for the handshake's preference", () => {
  const file = parseKnownHosts(`h ${pub("r")}\nh ${pub("e")}\nother ${pub("a")}\n`, "kh");
  expect(knownKeyTypes(file, "h", 22)).toEqual(["ssh-rsa", "ecdsa-sha2-nistp256"]);
  expect(knownKeyTypes(file, "nobody", 22)).toEqual([]);
});

test("a missing file knows no host; accept-new appends a line ssh-keygen -F finds", () => {
  const path = join(dir, "sub", "known_hosts");
  expect(readKnownHosts(path).entries).toEqual([]);
  appendKnownHost(path, "198.18.1.11", 2200, blob("a"));
  writeFileSync(path, `${readFileSync(path, "utf8")}gw ${pub("b")}`); // no trailing newline
  appendKnownHost(path, "bastion", 22, blob("r"));
  const file = readKnownHosts(path);
  expect(file.entries.length).toBe(3);
  expect(checkKnownHost(file, "bastion", 22, blob("r")).kind).toBe("known");
  expect(run(["ssh-keygen", "-F", "[198.18.1.11]:2200", "-f", path])).toContain(keys.a?.line.split(" ")[1] ?? "");
  expect((Bun.spawnSync(["stat", "-c", "%a", path]).stdout.toString().trim())).toBe("600");
});
