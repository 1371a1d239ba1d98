import { describe, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { loadCluster } from "../../src/plan/load.ts";
import { renderHost } from "../../src/render/index.ts";
import { cleanEnv, exampleFile, jsonLines, starbase, withTempDir, writeEditedExample } from "./run-starbase.ts";

const SECRET = "render-test-secret-7f3a9c-40e1b8d2c6a5";

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** What render/ produces for the example, mapped to where `starbase render` must put it. */
async function expectedTree(): Promise<Map<string, { content: string; mode: number }>> {
  const { inventory } = await loadCluster(exampleFile, process.env);
  if (!inventory) throw new Error("examples/cluster.yaml is not valid");
  const tree = new Map<string, { content: string; mode: number }>();
  for (const host of inventory.hosts) {
    for (const file of renderHost(inventory, host, { hostKeySecret: SECRET })) {
      const path = file.scope === "seed" ? `${host.name}/cidata/${file.path}` : `${host.name}${file.path}`;
      tree.set(path, { content: file.content, mode: file.mode });
    }
  }
  return tree;
}

describe("render", () => {
  test("writes every host's files under DIR/<host>/, seed files under cidata/, and known_hosts", async () => {
    const expected = await expectedTree();
    await withTempDir((dir) => {
      const out = join(dir, "out");
      const run = starbase(["render", exampleFile, "--out", out], { env: cleanEnv({ STARBASE_HOSTKEY_SECRET: SECRET }) });
      expect(run.rc).toBe(0);
      expect(filesUnder(out)).toEqual([...expected.keys(), "known_hosts"].sort());
      for (const [path, file] of expected) {
        expect(readFileSync(join(out, path), "utf8")).toBe(file.content);
        expect(statSync(join(out, path)).mode & 0o777).toBe(file.mode);
      }
      // Spot checks that do not depend on render/ itself.
      expect(statSync(join(out, "lb01/cidata/user-data")).mode & 0o777).toBe(0o600);
      expect(existsSync(join(out, "lb02/etc/haproxy/haproxy.cfg"))).toBe(true);
      expect(existsSync(join(out, "agent03/cidata/network-config"))).toBe(true);
      expect(run.stdout).toContain(`wrote ${expected.size + 1} files for 11 hosts`);
    });
  });

  test("known_hosts: one key per host that ssh-keygen reads", async () => {
    await withTempDir((dir) => {
      const run = starbase(["render", exampleFile, "--out", dir], { env: cleanEnv({ STARBASE_HOSTKEY_SECRET: SECRET }) });
      expect(run.rc).toBe(0);
      const knownHosts = readFileSync(join(dir, "known_hosts"), "utf8").trim().split("\n");
      expect(knownHosts).toHaveLength(11);
      expect(knownHosts[0]).toStartWith("lb01,10.0.20.21 ssh-ed25519 ");
      const keygen = Bun.spawnSync(["ssh-keygen", "-l", "-f", join(dir, "known_hosts")], { stdout: "pipe", stderr: "pipe" });
      expect(keygen.exitCode).toBe(0);
      expect(keygen.stdout.toString().trim().split("\n")).toHaveLength(11);
    });
  });

  test("never prints the secret, nor writes it as such", async () => {
    await withTempDir((dir) => {
      const env = cleanEnv({ STARBASE_HOSTKEY_SECRET: SECRET });
      const text = starbase(["render", exampleFile, "--out", dir], { env });
      const json = starbase(["render", exampleFile, "--out", dir, "--output", "json"], { env });
      expect(text.rc).toBe(0);
      expect(json.rc).toBe(0);
      for (const output of [text.stdout, text.stderr, json.stdout, json.stderr]) expect(output).not.toContain(SECRET);
      for (const path of filesUnder(dir)) expect(readFileSync(join(dir, path), "utf8")).not.toContain(SECRET);
    });
  });

  test("--output json: one event per file (no content), then a summary", async () => {
    await withTempDir((dir) => {
      const run = starbase(["render", exampleFile, "--out", dir, "--output", "json"], { env: cleanEnv({ STARBASE_HOSTKEY_SECRET: SECRET }) });
      const events = jsonLines(run.stdout);
      const files = events.filter((e) => e.type === "file");
      expect(files.map((f) => f.path).sort()).toEqual(filesUnder(dir));
      expect(files.find((f) => f.path === "lb01/cidata/user-data")).toEqual({
        type: "file",
        path: "lb01/cidata/user-data",
        mode: "0600",
        scope: "seed",
        host: "lb01",
      });
      expect(files.every((f) => !("content" in f))).toBe(true);
      expect(events.at(-1)).toEqual({ type: "summary", out: dir, files: files.length });
    });
  });

  test("a re-render tightens the mode of an existing file", async () => {
    await withTempDir((dir) => {
      const env = cleanEnv({ STARBASE_HOSTKEY_SECRET: SECRET });
      expect(starbase(["render", exampleFile, "--out", dir], { env }).rc).toBe(0);
      const userData = join(dir, "server01/cidata/user-data");
      chmodSync(userData, 0o644);
      expect(starbase(["render", exampleFile, "--out", dir], { env }).rc).toBe(0);
      expect(statSync(userData).mode & 0o777).toBe(0o600);
    });
  });

  test("the secret from a file, relative to the spec's directory, whatever the working directory", async () => {
    await withTempDir((dir) => {
      const spec = writeEditedExample(dir, "cluster.yaml", [
        ["hostKeySecret: { env: STARBASE_HOSTKEY_SECRET }", "hostKeySecret: { file: hostkey.secret }"],
      ]);
      writeFileSync(join(dir, "hostkey.secret"), `${SECRET}\n`, { mode: 0o600 });
      const fromFile = join(dir, "from-file");
      const fromEnv = join(dir, "from-env");
      expect(starbase(["render", spec, "--out", fromFile], { cwd: "/" }).rc).toBe(0);
      expect(starbase(["render", exampleFile, "--out", fromEnv], { env: cleanEnv({ STARBASE_HOSTKEY_SECRET: SECRET }) }).rc).toBe(0);
      expect(readFileSync(join(fromFile, "known_hosts"), "utf8")).toBe(readFileSync(join(fromEnv, "known_hosts"), "utf8"));
    });
  });

  test("a missing secret: exit 1, the reference's place, the variable and what to do; nothing written", async () => {
    await withTempDir((dir) => {
      const out = join(dir, "out");
      const run = starbase(["render", exampleFile, "--out", out]);
      expect(run.rc).toBe(1);
      expect(run.stderr).toContain(
        `${exampleFile}:32:18: error: ssh.hostKeySecret: environment variable STARBASE_HOSTKEY_SECRET is not set\n  hint: export STARBASE_HOSTKEY_SECRET=…`,
      );
      expect(existsSync(out)).toBe(false);
    });
  });

  test("--out is required", () => {
    const run = starbase(["render", exampleFile]);
    expect(run.rc).toBe(64);
    expect(run.stderr).toContain("render needs --out DIR");
  });
});
