import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { buildSeedIso, renderHost, type IsoFile } from "../../src/render/index.ts";
import { hostNamed, INVENTORIES, SECRETS } from "./fixtures.ts";
import { makeScratch, removeScratch, runTool } from "./tools.ts";

let scratch: string;
beforeAll(() => {
  scratch = makeScratch("iso");
});
afterAll(() => removeScratch(scratch));

function seedFiles(hostName: string): IsoFile[] {
  const inv = INVENTORIES[0]!.inv;
  return renderHost(inv, hostNamed(inv, hostName), SECRETS)
    .filter((f) => f.scope === "seed")
    .map((f) => ({ name: f.path, content: f.content }));
}

function bytesOf(content: string | Uint8Array): Buffer {
  return Buffer.from(typeof content === "string" ? new TextEncoder().encode(content) : content);
}

function writeIso(name: string, files: IsoFile[], volumeId?: string): string {
  const path = join(scratch, name);
  writeFileSync(path, buildSeedIso(files, volumeId));
  return path;
}

/** Every file read back through the Joliet tree by isoinfo and by xorriso's extractor equals its input. */
function expectReadsBack(iso: string, files: IsoFile[]): void {
  for (const file of files) {
    const extracted = Bun.spawnSync(["isoinfo", "-J", "-x", `/${file.name}`, "-i", iso], { stdout: "pipe" });
    expect(extracted.exitCode).toBe(0);
    expect(Buffer.from(extracted.stdout).equals(bytesOf(file.content))).toBe(true);
  }
  const dir = join(scratch, `${iso.split("/").pop()}-extracted`);
  const osirrox = runTool(["osirrox", "-indev", iso, "-extract", "/", dir]);
  expect(osirrox.code).toBe(0);
  expect(osirrox.stderr).not.toMatch(/FAILURE|SORRY|WARNING/);
  expect(readdirSync(dir).sort()).toEqual(files.map((f) => f.name).sort());
  for (const file of files) expect(readFileSync(join(dir, file.name)).equals(bytesOf(file.content))).toBe(true);
}

describe("buildSeedIso", () => {
  test("a host's seed files read back byte for byte under their exact names", () => {
    const files = seedFiles("server02");
    expect(files.map((f) => f.name)).toEqual(["user-data", "meta-data", "network-config"]);
    const iso = writeIso("server02.iso", files);
    expectReadsBack(iso, files);

    const listing = runTool(["xorriso", "-indev", iso, "-find", "/", "-type", "f", "-exec", "lsdl"]);
    expect(listing.code).toBe(0);
    const names = [...listing.stdout.matchAll(/'\/([^']+)'/g)].map((m) => m[1]).sort();
    expect(names).toEqual(["meta-data", "network-config", "user-data"]);
  });

  test("volume id cidata with Joliet; blkid and file see ISO 9660", () => {
    const iso = writeIso("label.iso", seedFiles("lb01"));
    const info = runTool(["isoinfo", "-d", "-i", iso]);
    expect(info.code).toBe(0);
    expect(info.stdout).toContain("Volume id: cidata");
    expect(info.stdout).toContain("Joliet with UCS level 3 found");
    const blkid = runTool(["blkid", "-p", "-o", "export", iso]);
    expect(blkid.stdout).toContain("TYPE=iso9660");
    expect(blkid.stdout).toContain("LABEL=cidata");
    expect(runTool(["file", "-b", iso]).stdout).toContain("ISO 9660 CD-ROM filesystem data 'cidata'");
  });

  test("same files give the same bytes; a changed file gives other bytes", () => {
    const files = seedFiles("agent01");
    const first = buildSeedIso(files);
    expect(Buffer.from(buildSeedIso(files)).equals(Buffer.from(first))).toBe(true);
    const changed = files.map((f) => (f.name === "meta-data" ? { ...f, content: `${f.content}# changed\n` } : f));
    expect(Buffer.from(buildSeedIso(changed)).equals(Buffer.from(first))).toBe(false);
  });

  test("binary, empty and multi-sector files, and a root directory longer than one sector", () => {
    const binary = new Uint8Array(5000).map((_, i) => (i * 7 + 3) % 256);
    const files: IsoFile[] = [
      { name: "vendor-data", content: binary },
      { name: "empty", content: "" },
      ...Array.from({ length: 40 }, (_, i) => ({
        name: `file-with-a-long-name-${String(i).padStart(2, "0")}.txt`,
        content: `content ${i}\n`.repeat(i + 1),
      })),
    ];
    const iso = writeIso("many.iso", files, "CIDATA");
    expectReadsBack(iso, files);
    expect(runTool(["isoinfo", "-d", "-i", iso]).stdout).toContain("Volume id: CIDATA");
  });

  test("names that ISO 9660 or Joliet cannot carry are refused", () => {
    expect(() => buildSeedIso([{ name: "a/b", content: "" }])).toThrow(/Joliet/);
    expect(() => buildSeedIso([{ name: "x".repeat(65), content: "" }])).toThrow(/Joliet/);
    expect(() => buildSeedIso([{ name: "user-data", content: "" }, { name: "user_data", content: "" }])).toThrow(/collides/);
    expect(() => buildSeedIso([], "no spaces")).toThrow(/volume id/);
  });
});
