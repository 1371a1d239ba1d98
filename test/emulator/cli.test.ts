import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { connect } from "node:tls";
import type { Subprocess } from "bun";
import { ApiClient, tokenHeader } from "./client.ts";
import type { Emulator } from "./server.ts";

const ROOT = resolve(import.meta.dir, "..", "..");
const TOKEN = { id: "cli@pve!test", secret: "abcdef00-1111-2222-3333-444444444444" };

const processes: Subprocess<"ignore", "pipe", "pipe">[] = [];
const directories: string[] = [];
afterEach(() => {
  for (const child of processes.splice(0)) child.kill("SIGKILL");
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function scratch(): string {
  const directory = mkdtempSync(join(tmpdir(), "pve-emulator-cli-"));
  directories.push(directory);
  return directory;
}

interface Running {
  child: Subprocess<"ignore", "pipe", "pipe">;
  firstLine: string;
  port: number;
  fingerprint: string;
}

async function launch(args: string[]): Promise<Running> {
  const child = Bun.spawn([process.execPath, "test/emulator/main.ts", ...args], {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  processes.push(child);
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`emulator exited early: ${await new Response(child.stderr).text()}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const firstLine = text.split("\n")[0] ?? "";
  const match = /^listening on https:\/\/127\.0\.0\.1:(\d+) fingerprint ((?:[0-9A-F]{2}:){31}[0-9A-F]{2})$/.exec(firstLine);
  if (!match) throw new Error(`unexpected first line: ${firstLine}`);
  return { child, firstLine, port: Number(match[1]), fingerprint: match[2] ?? "" };
}

/** Enough of the Emulator interface for ApiClient, with the CA taken from the served certificate. */
async function clientFor(running: Running): Promise<ApiClient> {
  const certificate = await new Promise<string>((done, fail) => {
    const socket = connect({ host: "127.0.0.1", port: running.port, rejectUnauthorized: false }, () => {
      const peer = socket.getPeerCertificate();
      socket.end();
      if (peer.fingerprint256 !== running.fingerprint) fail(new Error(`fingerprint ${peer.fingerprint256} != ${running.fingerprint}`));
      done(`-----BEGIN CERTIFICATE-----\n${peer.raw.toString("base64").replace(/(.{64})/g, "$1\n")}\n-----END CERTIFICATE-----\n`);
    });
    socket.on("error", fail);
  });
  return new ApiClient({ port: running.port, caPem: certificate } as Emulator, tokenHeader(TOKEN.id, TOKEN.secret));
}

const baseArgs = (directory: string, extra: string[] = []) => [
  "--port", "0",
  "--nodes", "n1,n2",
  "--token", `${TOKEN.id}=${TOKEN.secret}`,
  "--request-log", join(directory, "requests.jsonl"),
  "--auth-delay-ms", "0",
  "--task-ms", "20",
  ...extra,
];

describe("command line entry", () => {
  test("prints the listening line with the certificate's fingerprint first and exits on SIGTERM", async () => {
    const directory = scratch();
    const running = await launch(baseArgs(directory));
    const api = await clientFor(running);
    const version = await api.call("GET", "/version");
    expect(version.body.data.release).toBe("9.1");
    const nodes = await api.call("GET", "/nodes");
    expect(nodes.body.data.map((node: { node: string }) => node.node)).toEqual(["n1", "n2"]);
    expect(nodes.body.data[0].ssl_fingerprint).toBe(running.fingerprint);
    await api.call("POST", "/nodes/n1/qemu", { vmid: 100, bogus: 1 });
    running.child.kill("SIGTERM");
    expect(await running.child.exited).toBe(0);
    const lines = readFileSync(join(directory, "requests.jsonl"), "utf8").trim().split("\n").map((line) => JSON.parse(line));
    expect(lines).toEqual([
      { method: "GET", path: "/version", params: {} },
      { method: "GET", path: "/nodes", params: {} },
      { method: "POST", path: "/nodes/n1/qemu", params: { vmid: "100", bogus: "1" }, status: 400 },
    ]);
  });

  test("the state file survives a restart; a create cut short keeps its lock like a killed worker", async () => {
    const directory = scratch();
    const state = join(directory, "state.json");
    const first = await launch(baseArgs(directory, ["--state", state]));
    const api = await clientFor(first);
    expect((await api.run("POST", "/nodes/n1/qemu", { vmid: 100, name: "kept", scsi0: "local-lvm:2" })).status.exitstatus).toBe("OK");
    first.child.kill("SIGTERM");
    expect(await first.child.exited).toBe(0);

    const second = await launch(baseArgs(directory, ["--state", state, "--task-ms", "60000"]));
    const again = await clientFor(second);
    const config = (await again.call("GET", "/nodes/n1/qemu/100/config")).body.data;
    expect(config).toMatchObject({ name: "kept", scsi0: "local-lvm:vm-100-disk-0,size=2G" });
    const pending = await again.call("POST", "/nodes/n2/qemu", { vmid: 101, scsi0: "local-lvm:2" });
    expect(pending.status).toBe(200);
    second.child.kill("SIGTERM");
    expect(await second.child.exited).toBe(0);

    const third = await launch(baseArgs(directory, ["--state", state]));
    const last = await clientFor(third);
    const task = await last.call("GET", `/nodes/n2/tasks/${encodeURIComponent(pending.body.data)}/status`);
    expect(task.body.data).toMatchObject({ status: "stopped", exitstatus: "unexpected status" });
    const locked = await last.call("PUT", "/nodes/n2/qemu/101/config", { name: "late" });
    expect(locked.status).toBe(500);
    expect(locked.reason).toBe("VM is locked (create)");
    expect((await last.call("GET", "/cluster/nextid")).body.data).toBe("102");
  });

  test("without a schema it says so on start-up and skips parameter checks", async () => {
    const directory = scratch();
    const running = await launch(baseArgs(directory, ["--schema", "none"]));
    const api = await clientFor(running);
    const create = await api.call("POST", "/nodes/n1/qemu", { vmid: 100, name: "not_a_dns_name", onboot: "true", scsi0: "local-lvm:1" });
    expect(create.status).toBe(200);
    await api.waitTask(create.body.data);
    expect((await api.call("GET", "/nodes/n1/qemu/100/config")).body.data).toMatchObject({ name: "not_a_dns_name", onboot: "true" });
    expect((await api.call("GET", "/nodes/n1/nonsense")).status).toBe(501);
    running.child.kill("SIGTERM");
    expect(await running.child.exited).toBe(0);
    expect(await new Response(running.child.stderr).text()).toContain("schema checks are off");
  });

  test("storages and upstream files can be given as flags", async () => {
    const directory = scratch();
    const storages = JSON.stringify([{ id: "local", type: "dir", path: "/srv/pve", content: ["iso"] }]);
    const sha = "c".repeat(64);
    const running = await launch(
      baseArgs(directory, ["--storage-config", storages, "--publish", `https://example.org/seed.iso=4096:${sha}`]),
    );
    const api = await clientFor(running);
    const list = (await api.call("GET", "/nodes/n2/storage")).body.data;
    expect(list.map((storage: { storage: string; content: string }) => `${storage.storage}:${storage.content}`)).toEqual(["local:iso"]);
    const download = await api.run("POST", "/nodes/n2/storage/local/download-url", {
      content: "iso",
      filename: "seed.iso",
      url: "https://example.org/seed.iso",
      checksum: sha,
      "checksum-algorithm": "sha256",
    });
    expect(download.status.exitstatus).toBe("OK");
    expect(download.log[0]).toBe("downloading https://example.org/seed.iso to /srv/pve/template/iso/seed.iso");
    const content = (await api.call("GET", "/nodes/n2/storage/local/content")).body.data;
    expect(content).toEqual([expect.objectContaining({ volid: "local:iso/seed.iso", size: 4096 })]);
  });

  test("--faults RATE is the probability that a request gets a fault, whatever the number of kinds", async () => {
    const directory = scratch();
    const running = await launch(baseArgs(directory, ["--faults", "0.3", "--seed", "5"]));
    const api = await clientFor(running);
    const requests = 300;
    let faulted = 0;
    for (let index = 0; index < requests; index++) {
      const { status } = await api.call("GET", "/version");
      if (status === 596 || status === 0) faulted++;
      else expect(status).toBe(200);
    }
    // Per kind, two transport kinds at 0.3 each would fault about half of all GETs.
    expect(faulted / requests).toBeGreaterThan(0.22);
    expect(faulted / requests).toBeLessThan(0.38);
    const help = Bun.spawnSync([process.execPath, "test/emulator/main.ts", "--help"], { cwd: ROOT });
    expect(help.stdout.toString()).toContain("probability (0..1) that a request gets a fault");
  });

  test("bad arguments exit with status 2 and usage", async () => {
    const child = Bun.spawn([process.execPath, "test/emulator/main.ts", "--token", "no-realm=secret"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    expect(await child.exited).toBe(2);
    const stderr = await new Response(child.stderr).text();
    expect(stderr).toContain("expected USER@REALM!ID=SECRET");
    expect(stderr).not.toContain("secret");
  });
});
