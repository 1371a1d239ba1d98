import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createServer } from "node:net";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { utils } from "ssh2";
import { hostKey, knownHosts } from "../../src/render/index.ts";
import { INVENTORIES, SECRETS } from "./fixtures.ts";
import { makeScratch, removeScratch, runTool } from "./tools.ts";

let scratch: string;
beforeAll(() => {
  scratch = makeScratch("hostkeys");
});
afterAll(() => removeScratch(scratch));

function writeKey(name: string, privateKey: string): string {
  const path = join(scratch, name);
  writeFileSync(path, privateKey, { mode: 0o600 });
  return path;
}

function writeSshdConfig(): string {
  const path = join(scratch, "sshd_config");
  writeFileSync(path, "ListenAddress 127.0.0.1\nPidFile none\nUsePAM no\nPasswordAuthentication no\n");
  return path;
}

/** sshd needs /run/sshd; a private mount namespace with its own /run keeps the host's /run untouched. */
function inPrivateRun(command: string): string[] {
  return ["unshare", "--mount", "--propagation", "private", "sh", "-c", `mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/sshd && ${command}`];
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address !== null ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

describe("hostKey", () => {
  const key = hostKey(SECRETS.hostKeySecret, "homelab", "server01");

  test("ssh-keygen derives exactly our public key from our private key", () => {
    const result = runTool(["ssh-keygen", "-y", "-f", writeKey("server01", key.privateKey)]);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(key.publicKey);
    expect(key.publicKey).toMatch(/^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI[A-Za-z0-9+/]{43} server01$/);
  });

  test("sshd -t accepts it as a host key", () => {
    const path = writeKey("sshd-t", key.privateKey);
    const result = runTool(inPrivateRun(`exec /usr/sbin/sshd -t -f ${writeSshdConfig()} -h ${path}`));
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
  });

  test("ssh2 parses it as an unencrypted ed25519 key with the same public half", () => {
    const parsed = utils.parseKey(key.privateKey);
    if (parsed instanceof Error) throw parsed;
    const one = Array.isArray(parsed) ? parsed[0] : parsed;
    expect(one?.type).toBe("ssh-ed25519");
    expect(one?.isPrivateKey()).toBe(true);
    expect(one?.getPublicSSH().toString("base64")).toBe(key.publicKey.split(" ")[1]);
    const signature = one?.sign(Buffer.from("challenge"));
    expect(signature instanceof Error).toBe(false);
    expect(one?.verify(Buffer.from("challenge"), signature as Buffer)).toBe(true);
  });

  test("same inputs give identical output; another host, cluster or secret gives another key", () => {
    expect(hostKey(SECRETS.hostKeySecret, "homelab", "server01")).toEqual(key);
    const others = [
      hostKey(SECRETS.hostKeySecret, "homelab", "server02"),
      hostKey(SECRETS.hostKeySecret, "otherlab", "server01"),
      hostKey("another-secret", "homelab", "server01"),
    ];
    for (const other of others) {
      expect(other.publicKey.split(" ")[1]).not.toBe(key.publicKey.split(" ")[1]);
      expect(other.privateKey).not.toBe(key.privateKey);
    }
  });
});

describe("knownHosts", () => {
  const inv = INVENTORIES[0]!.inv;
  const lines = knownHosts(inv, SECRETS.hostKeySecret).trimEnd().split("\n");

  test("one line per host: name,ip and its public key", () => {
    expect(lines).toHaveLength(inv.hosts.length);
    for (const [i, host] of inv.hosts.entries()) {
      const blob = hostKey(SECRETS.hostKeySecret, inv.spec.name, host.name).publicKey.split(" ")[1];
      expect(lines[i]).toBe(`${host.name},${host.ip} ssh-ed25519 ${blob}`);
    }
  });

  test("a real sshd with a host's key passes OpenSSH's strict check against our known_hosts, another host's does not", async () => {
    const knownHostsPath = join(scratch, "known_hosts");
    writeFileSync(knownHostsPath, knownHosts(inv, SECRETS.hostKeySecret));
    const host = inv.hosts[3]!;
    const keyPath = writeKey("sshd-host", hostKey(SECRETS.hostKeySecret, inv.spec.name, host.name).privateKey);
    const port = await freeLoopbackPort();
    const sshd = Bun.spawn(inPrivateRun(`exec /usr/sbin/sshd -D -e -f ${writeSshdConfig()} -h ${keyPath} -p ${port}`), {
      stdout: "ignore",
      stderr: "pipe",
    });
    try {
      const ssh = (alias: string) =>
        runTool([
          "ssh", "-F", "/dev/null", "-p", String(port),
          "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes", "-o", `UserKnownHostsFile=${knownHostsPath}`,
          "-o", "GlobalKnownHostsFile=/dev/null", "-o", `HostKeyAlias=${alias}`, "-o", "HostKeyAlgorithms=ssh-ed25519",
          "-o", "ConnectTimeout=5", "-o", "ConnectionAttempts=20", "-i", "/dev/null",
          "nobody@127.0.0.1", "true",
        ]);
      // Wait until sshd listens: the first attempt may race its start.
      let own = ssh(host.name);
      for (let attempt = 0; attempt < 50 && own.stderr.includes("Connection refused"); attempt++) {
        await Bun.sleep(100);
        own = ssh(host.name);
      }
      // The host key is accepted; only user authentication fails (there is no user key).
      expect(own.stderr).toContain("Permission denied");
      expect(own.stderr).not.toContain("Host key verification failed");
      const other = ssh(inv.hosts[4]!.name);
      expect(other.stderr).toMatch(/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
    } finally {
      sshd.kill();
      await sshd.exited;
    }
  });
});
