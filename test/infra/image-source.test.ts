import { afterAll, describe, expect, test } from "bun:test";
import { checksumFromListing, resolveImage, storedImageName } from "../../src/steps/infra/image-source.ts";
import { legacySeedOwners, seedOwner } from "../../src/steps/infra/seed-image.ts";

const SHA = "ab".repeat(32);
const OTHER = "cd".repeat(32);
const URL_ = "https://download.opensuse.org/tumbleweed/appliances/openSUSE-MicroOS.x86_64-OpenStack-Cloud.qcow2";

describe("image file name and checksum", () => {
  test("the stored name carries the first 12 hex digits of the checksum and keeps the extension", () => {
    expect(storedImageName({ url: URL_ }, SHA)).toBe("openSUSE-MicroOS.x86_64-OpenStack-Cloud-abababababab.qcow2");
    expect(storedImageName({ url: "https://x.org/a b+c.raw" }, SHA)).toBe("a_b_c-abababababab.raw");
    expect(storedImageName({ url: "https://x.org/download?id=3", fileName: "microos.vmdk" }, SHA)).toBe("microos-abababababab.vmdk");
    expect(() => storedImageName({ url: "https://x.org/image.img" }, SHA)).toThrow(/set image.fileName/);
  });

  test("sha256sum and BSD listings: the line for the image's file wins", () => {
    const gnu = `${OTHER}  other.qcow2\n${SHA}  openSUSE-MicroOS.x86_64-OpenStack-Cloud.qcow2\n`;
    expect(checksumFromListing(gnu, "openSUSE-MicroOS.x86_64-OpenStack-Cloud.qcow2")).toBe(SHA);
    expect(checksumFromListing(`SHA256 (x.qcow2) = ${SHA.toUpperCase()}\n`, "x.qcow2")).toBe(SHA);
    expect(checksumFromListing(`${SHA}\n`, "x.qcow2")).toBe(SHA);
    expect(checksumFromListing(gnu, "third.qcow2")).toBeUndefined();
  });

  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/image.qcow2.sha256") return new Response(`${SHA}  image.qcow2\n`);
      return new Response("no", { status: 404, statusText: "Not Found" });
    },
  });
  afterAll(() => server.stop(true));

  test("checksumUrl is read over HTTP; a failure names the URL", async () => {
    const base = `http://127.0.0.1:${server.port}`;
    const image = await resolveImage({ url: "https://mirror.example/image.qcow2", checksumUrl: `${base}/image.qcow2.sha256` });
    expect(image).toEqual({ url: "https://mirror.example/image.qcow2", sha256: SHA, fileName: "image-abababababab.qcow2" });
    await expect(resolveImage({ url: "https://mirror.example/image.qcow2", checksumUrl: `${base}/missing` })).rejects.toThrow(`${base}/missing could not be read: HTTP 404`);
    // An explicit checksum wins and needs no request.
    expect((await resolveImage({ url: "https://mirror.example/image.qcow2", checksum: OTHER, checksumUrl: `${base}/missing` })).sha256).toBe(OTHER);
    await expect(resolveImage({ url: "https://mirror.example/image.qcow2" })).rejects.toThrow(/checksum/);
  });
});

describe("seed ISO names", () => {
  test("a current name splits one way only: its cluster and host", () => {
    expect(seedOwner("starbase_home-lab_lb01_0123456789ab.iso")).toEqual({ cluster: "home-lab", host: "lb01" });
    expect(seedOwner("starbase_home_lab-lb01_0123456789ab.iso")).toEqual({ cluster: "home", host: "lab-lb01" });
    expect(seedOwner("starbase_homelab_a_0123456789ab.img")).toBeUndefined();
    expect(seedOwner("starbase_homelab_a_b_0123456789ab.iso")).toBeUndefined();
    expect(seedOwner("starbase-homelab-a-0123456789ab.iso")).toBeUndefined();
  });

  test("a legacy name lists every cluster and host it can be read as", () => {
    expect(legacySeedOwners("starbase-homelab-lb01-0123456789ab.iso")).toEqual([{ cluster: "homelab", host: "lb01" }]);
    expect(legacySeedOwners("starbase-home-lab-lb01-0123456789ab.iso")).toEqual([
      { cluster: "home", host: "lab-lb01" },
      { cluster: "home-lab", host: "lb01" },
    ]);
    expect(legacySeedOwners("starbase-homelab-lb01-0123456789ab.img")).toEqual([]);
    expect(legacySeedOwners("debian.iso")).toEqual([]);
  });
});
