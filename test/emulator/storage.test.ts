import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { request } from "node:https";
import { type ApiClient, emulatorForTest, multipart } from "./client.ts";
import type { Emulator } from "./server.ts";

const URL_IMAGE = "https://download.example.org/microos-1.qcow2";
const SHA_IMAGE = "1".repeat(64);
const SHA_OTHER = "2".repeat(64);

let emulator: Emulator;
let api: ApiClient;

beforeAll(async () => {
  ({ emulator, api } = await emulatorForTest({
    nodes: ["n1", "n2"],
    taskDurations: { download: 150 },
    storages: [
      { id: "local", type: "dir", path: "/var/lib/vz", content: ["iso", "import", "snippets", "vztmpl", "backup"] },
      { id: "local-lvm", type: "lvmthin", content: ["images", "rootdir"] },
      { id: "isos", type: "dir", path: "/mnt/isos", content: ["iso"], nodes: ["n2"] },
    ],
  }));
  emulator.publish(URL_IMAGE, { size: 1_234_567, sha256: SHA_IMAGE, virtualSize: 20 * 2 ** 30 });
});
afterAll(() => emulator.stop());

const volids = async (node: string, storage: string, content?: string): Promise<string[]> =>
  (await api.call("GET", `/nodes/${node}/storage/${storage}/content`, { content })).body.data.map((volume: { volid: string }) => volume.volid);

const download = (extra: Record<string, string> = {}) => ({
  content: "import",
  filename: "microos-1.qcow2",
  url: URL_IMAGE,
  ...extra,
});

describe("download-url", () => {
  test("the file appears only when the task ends, with format and size", async () => {
    const started = await api.call("POST", "/nodes/n1/storage/local/download-url", download({ checksum: SHA_IMAGE, "checksum-algorithm": "sha256" }));
    expect(started.body.data).toMatch(/^UPID:n1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:download:microos-1\.qcow2:starbase@pve!emulator:$/);
    expect(await volids("n1", "local", "import")).toEqual([]);
    const { status, log } = await api.waitTask(started.body.data);
    expect(status.exitstatus).toBe("OK");
    expect(log[0]).toBe(`downloading ${URL_IMAGE} to /var/lib/vz/import/microos-1.qcow2`);
    expect(log).toContain("calculating checksum...OK, checksum verified");
    const listing = (await api.call("GET", "/nodes/n1/storage/local/content", { content: "import" })).body.data;
    expect(listing).toEqual([{ volid: "local:import/microos-1.qcow2", content: "import", format: "qcow2", size: 1_234_567, ctime: expect.any(Number) }]);
    expect(await volids("n2", "local", "import")).toEqual([]);
  });

  test("an existing file with the same checksum is a no-op; without checksum it is refused", async () => {
    const again = await api.run("POST", "/nodes/n1/storage/local/download-url", download({ checksum: SHA_IMAGE.toUpperCase(), "checksum-algorithm": "sha256" }));
    expect(again.status.exitstatus).toBe("OK");
    expect(again.log).toContain("calculating checksum of existing file...OK, got correct file already, no need to download");
    const blind = await api.run("POST", "/nodes/n1/storage/local/download-url", download());
    expect(blind.status.exitstatus).toBe("refusing to override existing file '/var/lib/vz/import/microos-1.qcow2'");
  });

  test("checksum mismatches: against the existing file and against the downloaded one", async () => {
    const existing = await api.run("POST", "/nodes/n1/storage/local/download-url", download({ checksum: SHA_OTHER, "checksum-algorithm": "sha256" }));
    expect(existing.status.exitstatus).toBe(`checksum mismatch: got '${SHA_IMAGE}' != expect '${SHA_OTHER}', aborting`);
    const fresh = await api.run("POST", "/nodes/n2/storage/local/download-url", download({ checksum: SHA_OTHER, "checksum-algorithm": "sha256" }));
    expect(fresh.status.exitstatus).toBe(`checksum mismatch: got '${SHA_IMAGE}' != expect '${SHA_OTHER}'`);
    expect(await volids("n2", "local", "import")).toEqual([]);
  });

  test("an unknown upstream URL fails the task like wget does", async () => {
    const missing = await api.run("POST", "/nodes/n1/storage/local/download-url", download({ filename: "gone.qcow2", url: "https://download.example.org/gone.qcow2" }));
    expect(missing.status.exitstatus).toStartWith("download failed: command '/usr/bin/wget");
    expect(await volids("n1", "local", "import")).toEqual(["local:import/microos-1.qcow2"]);
  });

  test("synchronous checks: content type, file-based storage, node restriction, extension, normalisation", async () => {
    const notConfigured = await api.call("POST", "/nodes/n2/storage/isos/download-url", download());
    expect(notConfigured.status).toBe(500);
    expect(notConfigured.reason).toBe("storage 'isos' is not configured for content-type 'import'");
    const wrongNode = await api.call("POST", "/nodes/n1/storage/isos/download-url", download({ content: "iso", filename: "a.iso" }));
    expect(wrongNode.reason).toBe("storage 'isos' is not available on node 'n1'");
    const block = await api.call("POST", "/nodes/n1/storage/local-lvm/download-url", download());
    expect(block.reason).toBe("can't upload to storage type 'lvmthin', not a file based storage!");
    const img = await api.call("POST", "/nodes/n1/storage/local/download-url", download({ filename: "microos.img" }));
    expect(img.status).toBe(400);
    expect(img.body.errors).toEqual({ filename: "invalid filename or wrong extension" });
    const isoExtension = await api.call("POST", "/nodes/n1/storage/local/download-url", download({ content: "iso", filename: "microos.qcow2" }));
    expect(isoExtension.body.errors).toEqual({ filename: "wrong file extension" });
    const snippets = await api.call("POST", "/nodes/n1/storage/local/download-url", download({ content: "snippets", filename: "a.yaml" }));
    expect(snippets.body.errors.content).toBe("value 'snippets' does not have a value in the enumeration 'iso, vztmpl, import'");
    emulator.publish("https://download.example.org/tools.iso", { size: 10, sha256: SHA_OTHER });
    const normalised = await api.run("POST", "/nodes/n1/storage/local/download-url", {
      content: "iso",
      filename: "../../etc/my tools.ISO",
      url: "https://download.example.org/tools.iso",
    });
    expect(normalised.status.exitstatus).toBe("OK");
    expect(await volids("n1", "local", "iso")).toEqual(["local:iso/my_tools.ISO"]);
  });
});

describe("upload", () => {
  const upload = (body: Buffer, boundary: string) =>
    api.call("POST", "/nodes/n1/storage/local/upload", {}, { body, headers: { "Content-Type": `multipart/form-data; boundary=${boundary}` } });

  test("multipart upload creates the volume in a task and overwrites on repeat", async () => {
    const data = Buffer.from("seed iso payload");
    const sha = createHash("sha256").update(data).digest("hex");
    const body = multipart("XyZ", [
      { name: "content", value: "iso" },
      { name: "checksum-algorithm", value: "sha256" },
      { name: "checksum", value: sha },
      { name: "filename", value: data, filename: "seed.iso" },
    ]);
    const response = await upload(body, "XyZ");
    expect(response.status).toBe(200);
    expect(response.body.data).toMatch(/^UPID:n1:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:imgcopy::starbase@pve!emulator:$/);
    const { status, log } = await api.waitTask(response.body.data);
    expect(status.exitstatus).toBe("OK");
    expect(log).toContain("target file: /var/lib/vz/template/iso/seed.iso");
    const bigger = Buffer.from("a longer seed iso payload");
    const second = await upload(multipart("XyZ", [{ name: "content", value: "iso" }, { name: "filename", value: bigger, filename: "seed.iso" }]), "XyZ");
    expect((await api.waitTask(second.body.data)).status.exitstatus).toBe("OK");
    const listing = (await api.call("GET", "/nodes/n1/storage/local/content", { content: "iso" })).body.data;
    expect(listing).toContainEqual(expect.objectContaining({ volid: "local:iso/seed.iso", format: "iso", size: bigger.length }));
    const entry = emulator.requestLog.findLast((line) => line.path === "/nodes/n1/storage/local/upload");
    expect(entry?.params).toEqual({ content: "iso", filename: "seed.iso" });
  });

  test("an uploaded qcow2 for import keeps its virtual size for imports", async () => {
    const header = Buffer.alloc(64);
    header.writeUInt32BE(0x514649fb, 0);
    header.writeUInt32BE(3, 4);
    header.writeBigUInt64BE(BigInt(8 * 2 ** 30), 24);
    const response = await upload(multipart("B", [{ name: "content", value: "import" }, { name: "filename", value: header, filename: "tiny.qcow2" }]), "B");
    expect((await api.waitTask(response.body.data)).status.exitstatus).toBe("OK");
    const created = await api.run("POST", "/nodes/n1/qemu", { vmid: 200, scsi0: "local-lvm:0,import-from=local:import/tiny.qcow2" });
    expect(created.status.exitstatus).toBe("OK");
    expect((await api.call("GET", "/nodes/n1/qemu/200/config")).body.data.scsi0).toBe("local-lvm:vm-200-disk-0,size=8G");
  });

  test("checksum mismatch fails the task and leaves no file", async () => {
    const body = multipart("B", [
      { name: "content", value: "iso" },
      { name: "checksum-algorithm", value: "sha256" },
      { name: "checksum", value: SHA_OTHER },
      { name: "filename", value: "data", filename: "bad.iso" },
    ]);
    const response = await upload(body, "B");
    const { status } = await api.waitTask(response.body.data);
    expect(status.exitstatus).toStartWith("checksum mismatch: got '");
    expect(await volids("n1", "local", "iso")).not.toContain("local:iso/bad.iso");
  });

  test("snippets cannot be uploaded; the file part must be called 'filename' and come last", async () => {
    const snippet = await upload(multipart("B", [{ name: "content", value: "snippets" }, { name: "filename", value: "x", filename: "user.yaml" }]), "B");
    expect(snippet.status).toBe(400);
    expect(snippet.body.errors.content).toBe("value 'snippets' does not have a value in the enumeration 'iso, vztmpl, import'");
    const wrongName = await upload(multipart("B", [{ name: "content", value: "iso" }, { name: "file", value: "x", filename: "a.iso" }]), "B");
    expect(wrongName.status).toBe(501);
    expect(wrongName.reason).toBe("wrong field name 'file' for file upload, expected 'filename'");
    // pveproxy reads fields only before the file part; a later `content` becomes file data
    const fileFirst = await upload(multipart("B", [{ name: "filename", value: "x", filename: "a.iso" }, { name: "content", value: "iso" }]), "B");
    expect(fileFirst.status).toBe(400);
    expect(fileFirst.body.errors).toEqual({ content: "property is missing and it is not optional" });
  });

  test("chunked bodies are refused (Content-Length is required)", async () => {
    const response = await new Promise<{ status: number; reason: string }>((resolve, reject) => {
      const outgoing = request(
        {
          host: "127.0.0.1",
          port: emulator.port,
          method: "POST",
          path: "/api2/json/nodes/n1/storage/local/upload",
          ca: emulator.caPem,
          agent: false,
          headers: {
            Authorization: "PVEAPIToken=starbase@pve!emulator=5e1f6a2c-0000-4000-8000-000000000000",
            "Content-Type": "multipart/form-data; boundary=B",
            "Transfer-Encoding": "chunked",
          },
        },
        (incoming) => {
          incoming.resume();
          resolve({ status: incoming.statusCode ?? 0, reason: incoming.statusMessage ?? "" });
        },
      );
      outgoing.on("error", reject);
      outgoing.end(multipart("B", [{ name: "content", value: "iso" }, { name: "filename", value: "x", filename: "c.iso" }]));
    });
    expect(response).toEqual({ status: 501, reason: "chunked transfer encoding not supported" });
  });
});

describe("storage listings", () => {
  test("per-node storages with content filter and sizes", async () => {
    const n1 = (await api.call("GET", "/nodes/n1/storage")).body.data.map((storage: { storage: string }) => storage.storage);
    expect(n1).toEqual(["local", "local-lvm"]);
    const iso = (await api.call("GET", "/nodes/n2/storage", { content: "iso" })).body.data;
    expect(iso.map((storage: { storage: string }) => storage.storage)).toEqual(["local", "isos"]);
    expect(iso[1]).toMatchObject({ type: "dir", content: "iso", active: 1, enabled: 1, shared: 0, used: 0 });
    const status = await api.call("GET", "/nodes/n1/storage/isos/status");
    expect(status.status).toBe(400);
    expect(status.body.errors).toEqual({ storage: "No such storage." });
  });

  test("volume ids with slashes address one volume, escaped or not; deleting is an imgdel task", async () => {
    const escaped = await api.call("GET", `/nodes/n1/storage/local/content/${encodeURIComponent("local:iso/seed.iso")}`);
    expect(escaped.body.data).toMatchObject({ path: "/var/lib/vz/template/iso/seed.iso", format: "iso" });
    const result = await api.run("DELETE", "/nodes/n1/storage/local/content/local:iso/seed.iso");
    expect(result.status.exitstatus).toBe("OK");
    expect(result.status.id).toBe("none");
    expect(await volids("n1", "local", "iso")).not.toContain("local:iso/seed.iso");
  });
});
