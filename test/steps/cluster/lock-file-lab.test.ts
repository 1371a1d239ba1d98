// The cluster phase's run lock over real SSH: a lab host (real sshd, real flock and coreutils,
// a non-root login user going through sudo -n) holds the lock file; the client runs in the
// lab's control namespace (test/ssh/driver.ts).
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostKey } from "../../../src/render/hostkeys.ts";
import type { ExecResult } from "../../../src/ssh/exec.ts";
import { fileLockStore, lockFilePath } from "../../../src/steps/cluster/lock-file.ts";
import { LockHeldError, storeLock } from "../../../src/steps/lock.ts";
import { useLab } from "../../lab/fixture.ts";
import { type Driver, startDriver } from "../../ssh/driver-client.ts";

setDefaultTimeout(60_000);

const SECRET = "lock-file-lab-secret-0123456789";
const CLUSTER = "locklab";
const ADDRESS = "198.18.44.21";

function keygen(path: string): string {
  const made = Bun.spawnSync(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "locklab", "-f", path]);
  if (made.exitCode !== 0) throw new Error(made.stderr.toString());
  return readFileSync(`${path}.pub`, "utf8").trim();
}

const keys = mkdtempSync(join(tmpdir(), "sb-lock-keys-"));
const clientKey = join(keys, "id_ops");
const publicKey = keygen(clientKey);
const fixture = useLab("sb-lock-lab", {
  networks: [{ name: "cluster", cidr: "198.18.44.0/24" }],
  hosts: [
    {
      name: "server01",
      nics: [{ network: "cluster", ip: ADDRESS }],
      login: [{ name: "ops", authorizedKeys: [publicKey], sudo: "ALL=(ALL) NOPASSWD:ALL" }],
      hostKey: hostKey(SECRET, CLUSTER, "server01"),
    },
  ],
  control: [{ network: "cluster" }],
});

let driver: Driver | undefined;
afterAll(async () => {
  await driver?.stop();
  rmSync(keys, { recursive: true, force: true });
});

function store() {
  driver ??= startDriver(fixture.lab().controlExec, {
    user: "ops",
    privateKeyFile: clientKey,
    hosts: [{ name: "server01", address: ADDRESS, hostKey: { kind: "pinned", publicKeys: [hostKey(SECRET, CLUSTER, "server01").publicKey], source: "derived" } }],
    connectRetry: { deadlineMs: 20_000, initialDelayMs: 200, maxDelayMs: 1000 },
  });
  const client = driver;
  return fileLockStore(lockFilePath(CLUSTER), async (script) => {
    const result = await client.value<ExecResult>({ op: "exec", host: "server01", command: script });
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${result.stderr}`);
    return result.stdout;
  });
}

const claimant = (host: string) => ({ user: "ops", host, pid: process.pid, command: "apply --phase cluster" });

describe("the cluster lock file on a real host, over SSH as a sudo user", () => {
  test("one run holds it: the file is root's and private; a second run is refused naming the holder; release frees it", async () => {
    const lock = storeLock(CLUSTER, store());
    const held = await lock.acquire({ claimant: claimant("laptop") });
    const stat = await fixture.lab().exec("server01", ["stat", "-c", "%a %U %G", lockFilePath(CLUSTER)]);
    expect(stat.stdout.trim()).toBe("600 root root");
    const other = lock.acquire({ claimant: claimant("jumphost") });
    await expect(other).rejects.toBeInstanceOf(LockHeldError);
    await expect(other).rejects.toThrow(`cluster ${CLUSTER} is locked by ops@laptop`);
    await held.release();
    expect((await fixture.lab().exec("server01", ["test", "-e", lockFilePath(CLUSTER)])).code).toBe(1);
    const next = await lock.acquire({ claimant: claimant("jumphost") });
    await next.release();
  });

  test("of six creates sent at once over one connection, exactly one succeeds", async () => {
    const lockStore = store();
    const holder = (run: string) => ({ ...claimant("laptop"), since: new Date().toISOString(), heartbeat: new Date().toISOString(), run });
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => lockStore.create(holder(`run-${i}`))));
    expect(results.filter(Boolean)).toHaveLength(1);
    await lockStore.remove();
  });
});
