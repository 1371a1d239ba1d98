import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { buildInventory } from "../../src/inventory/build.ts";
import type { Host, Inventory } from "../../src/inventory/types.ts";
import { hostKey, renderHost, type RenderedFile } from "../../src/render/index.ts";
import { vrrpAuthPass } from "../../src/render/keepalived.ts";
import { hostNamed, INVENTORIES, realisticSpec, SECRETS } from "./fixtures.ts";
import { makeScratch, removeScratch, runTool } from "./tools.ts";

const REPO = resolve(import.meta.dir, "../..");

let scratch: string;
beforeAll(() => {
  scratch = makeScratch("renderhost");
});
afterAll(() => removeScratch(scratch));

function summary(files: RenderedFile[]): string[] {
  return files.map((f) => `${f.scope} ${f.path} ${f.mode.toString(8)}`);
}

function fileAt(files: RenderedFile[], path: string): RenderedFile {
  const file = files.find((f) => f.path === path);
  if (file === undefined) throw new Error(`no ${path}`);
  return file;
}

function metaData(inv: Inventory, host: Host): { "instance-id": string; "local-hostname": string } {
  return parse(fileAt(renderHost(inv, host, SECRETS), "meta-data").content);
}

describe("renderHost", () => {
  const inv = INVENTORIES[0]!.inv;

  test("the files of each role, with scope and mode", () => {
    const seed = ["seed user-data 600", "seed meta-data 644", "seed network-config 644"];
    expect(summary(renderHost(inv, hostNamed(inv, "lb01"), SECRETS))).toEqual([
      ...seed,
      "node /etc/keepalived/keepalived.conf 600",
      "node /etc/haproxy/haproxy.cfg 644",
    ]);
    expect(summary(renderHost(inv, hostNamed(inv, "server01"), SECRETS))).toEqual([
      ...seed,
      "node /etc/rancher/rke2/config.yaml 600",
      "node /var/lib/rancher/rke2/server/manifests/starbase-kured.yaml 600",
    ]);
    for (const name of ["server02", "agent01"]) {
      expect(summary(renderHost(inv, hostNamed(inv, name), SECRETS))).toEqual([...seed, "node /etc/rancher/rke2/config.yaml 600"]);
    }
  });

  test("rendering is pure: the same inputs give the same files", () => {
    const again = buildInventory(realisticSpec());
    for (const host of inv.hosts) {
      expect(renderHost(again, hostNamed(again, host.name), SECRETS)).toEqual(renderHost(inv, host, SECRETS));
    }
  });

  test("meta-data: local-hostname, and an instance-id that follows user-data and network-config", () => {
    const server = hostNamed(inv, "server02");
    const base = metaData(inv, server);
    expect(base["local-hostname"]).toBe("server02");
    expect(base["instance-id"]).toMatch(/^starbase-[0-9a-f]{32}$/);
    const ids = new Set(inv.hosts.map((h) => metaData(inv, h)["instance-id"]));
    expect(ids.size).toBe(inv.hosts.length);

    const dnsChanged = realisticSpec();
    dnsChanged.network.dns = ["198.18.20.53"];
    const dnsInv = buildInventory(dnsChanged);
    expect(metaData(dnsInv, hostNamed(dnsInv, "server02"))["instance-id"]).not.toBe(base["instance-id"]);
    const packagesChanged = realisticSpec();
    packagesChanged.packages = ["qemu-guest-agent", "htop"];
    const packagesInv = buildInventory(packagesChanged);
    expect(metaData(packagesInv, hostNamed(packagesInv, "server02"))["instance-id"]).not.toBe(base["instance-id"]);
    const otherSecret = renderHost(inv, server, { hostKeySecret: "rotated" });
    expect(parse(fileAt(otherSecret, "meta-data").content)["instance-id"]).not.toBe(base["instance-id"]);
  });

  test("secrets appear only where they belong", () => {
    const lb = hostNamed(inv, "lb01");
    const pass = vrrpAuthPass(inv.spec.name, SECRETS.hostKeySecret, undefined);
    for (const host of inv.hosts) {
      const files = renderHost(inv, host, SECRETS);
      const privateKey = hostKey(SECRETS.hostKeySecret, inv.spec.name, host.name).privateKey;
      for (const file of files) {
        expect(file.content).not.toContain(SECRETS.hostKeySecret);
        if (file.path !== "user-data") expect(file.content).not.toContain("PRIVATE KEY");
        if (!file.path.endsWith("keepalived.conf")) expect(file.content).not.toContain(pass);
        if (file.content.includes("PRIVATE KEY")) expect(file.mode).toBe(0o600);
      }
      expect(parse(fileAt(files, "user-data").content).ssh_keys.ed25519_private).toBe(privateKey);
    }
    expect(fileAt(renderHost(inv, lb, SECRETS), "/etc/keepalived/keepalived.conf").content).toContain(`auth_pass ${pass}`);
  });
});

describe("templates in a compiled binary", () => {
  test("a binary built with bun build --compile renders the same files with its sources and templates gone", () => {
    // Build from a copy of the sources, then delete the copy's templates: the binary must carry them.
    const tree = join(scratch, "tree");
    mkdirSync(join(tree, "test/render"), { recursive: true });
    mkdirSync(join(tree, "test/inventory"), { recursive: true });
    cpSync(join(REPO, "src"), join(tree, "src"), { recursive: true });
    cpSync(join(REPO, "templates"), join(tree, "templates"), { recursive: true });
    cpSync(join(REPO, "test/render/fixtures.ts"), join(tree, "test/render/fixtures.ts"));
    cpSync(join(REPO, "test/inventory/fixture.ts"), join(tree, "test/inventory/fixture.ts"));
    symlinkSync(join(REPO, "node_modules"), join(tree, "node_modules"));
    const entry = join(tree, "render-all.ts");
    writeFileSync(
      entry,
      [
        'import { renderHost } from "./src/render/index.ts";',
        'import { INVENTORIES, SECRETS } from "./test/render/fixtures.ts";',
        "const out = INVENTORIES.map(({ inv }) => inv.hosts.map((h) => renderHost(inv, h, SECRETS)));",
        "process.stdout.write(JSON.stringify(out));",
      ].join("\n"),
    );
    const binary = join(scratch, "render-all");
    const build = runTool([process.execPath, "build", "--compile", entry, "--outfile", binary], { cwd: tree });
    expect(build.stderr).not.toContain("error");
    expect(build.code).toBe(0);
    rmSync(tree, { recursive: true, force: true });

    const run = runTool([binary], { cwd: "/" });
    expect(run.code).toBe(0);
    const expected = INVENTORIES.map(({ inv }) => inv.hosts.map((h) => renderHost(inv, h, SECRETS)));
    expect(JSON.parse(run.stdout)).toEqual(JSON.parse(JSON.stringify(expected)));
    rmSync(binary, { force: true });
  }, 60_000);
});
