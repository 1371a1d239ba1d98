import { describe, expect, test } from "bun:test";
import { apiPath, encodeParams } from "../../src/proxmox/index.ts";
import { isEncodedApiPath } from "../../src/proxmox/encode.ts";
import { TOKEN_ID, TOKEN_SECRET, useFixture } from "./fixture.ts";
import { reply } from "./server.ts";

const UPID = "UPID:pve1:00001ED0:00035693:66343A23:qmshutdown:100:starbase@pve!cli:";

describe("encodeParams", () => {
  test("booleans are 1/0, numbers decimal, undefined left out", () => {
    expect(encodeParams({ onboot: true, start: false, cores: 4, balloon: 0, delta: -2, ratio: 1.5, pool: undefined }))
      .toBe("onboot=1&start=0&cores=4&balloon=0&delta=-2&ratio=1.5");
    expect(encodeParams(undefined)).toBe("");
    expect(encodeParams({})).toBe("");
  });

  test("arrays are comma-joined lists", () => {
    expect(encodeParams({ tags: ["starbase", "starbase-homelab"], delete: ["ide2", "net1"], ids: [100, 101] }))
      .toBe("tags=starbase%2Cstarbase-homelab&delete=ide2%2Cnet1&ids=100%2C101");
    expect(encodeParams({ tags: [] })).toBe("tags=");
  });

  test("list items that PVE would split further are refused", () => {
    for (const bad of ["a,b", "a;b", "a b", "a\tb", ""]) {
      expect(() => encodeParams({ tags: [bad] })).toThrow(/list item/);
    }
  });

  test("non-finite numbers are refused", () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      expect(() => encodeParams({ memory: bad })).toThrow(/not a finite number/);
      expect(() => encodeParams({ ids: [bad] })).toThrow(/not a finite number/);
    }
  });

  test("special characters are percent-encoded and decode back unchanged", () => {
    const params = {
      description: "a b&c=d+e%f/g?h#i\nzweite Zeile ✓",
      net0: "virtio,bridge=vmbr0,tag=20",
      scsi0: "local-lvm:0,import-from=local:import/microos.qcow2",
      cicustom: "user=local:snippets/u.yaml,network=local:snippets/n.yaml",
      sshkeys: encodeURIComponent("ssh-ed25519 AAAA ops@laptop"),
    };
    const encoded = encodeParams(params);
    expect(encoded).not.toMatch(/[ \n#?]/);
    expect(encoded).not.toContain("+"); // spaces travel as %20, a literal "+" as %2B
    expect(Object.fromEntries(new URLSearchParams(encoded))).toEqual(params);
  });
});

describe("apiPath", () => {
  test("interpolated values become single percent-encoded segments", () => {
    expect(apiPath`/nodes/${"pve1"}/tasks/${UPID}/status`)
      .toBe("/nodes/pve1/tasks/UPID%3Apve1%3A00001ED0%3A00035693%3A66343A23%3Aqmshutdown%3A100%3Astarbase%40pve!cli%3A/status");
    expect(apiPath`/nodes/${"pve1"}/storage/${"local"}/content/${"local:iso/seed 1.iso"}`)
      .toBe("/nodes/pve1/storage/local/content/local%3Aiso%2Fseed%201.iso");
    expect(apiPath`/nodes/${"pve1"}/qemu/${100}/config`).toBe("/nodes/pve1/qemu/100/config");
    expect(apiPath`/version`).toBe("/version");
  });

  test("isEncodedApiPath accepts only absolute, encoded paths", () => {
    for (const ok of ["/version", "/nodes/pve1/qemu/100/status/current", apiPath`/nodes/${"n"}/tasks/${UPID}/log`, "/cluster/resources"]) {
      expect(isEncodedApiPath(ok)).toBe(true);
    }
    for (const bad of ["", "/", "version", "/nodes/pve 1", "/version?x=1", "/version#x", "/nodes/../access", "/nodes/./x", "/a/%zz", "/a//b"]) {
      expect(isEncodedApiPath(bad)).toBe(false);
    }
  });
});

describe("requests on the wire", () => {
  const fx = useFixture();

  test("GET sends parameters in the query string, no body, and the token header", async () => {
    fx.answer((_req, res) => reply(res, 200, { data: [{ vmid: 100 }] }));
    const data = await fx.client().get<{ vmid: number }[]>("/cluster/resources", { type: "vm", full: true, x: undefined });
    expect(data).toEqual([{ vmid: 100 }]);
    const [req] = fx.server.requests;
    expect(req?.method).toBe("GET");
    expect(req?.url).toBe("/api2/json/cluster/resources?type=vm&full=1");
    expect(req?.headers.authorization).toBe(`PVEAPIToken=${TOKEN_ID}=${TOKEN_SECRET}`);
    expect(req?.body.length).toBe(0);
    expect(req?.headers["content-type"]).toBeUndefined();
  });

  test("POST and PUT send a form body with its content type", async () => {
    fx.answer((_req, res) => reply(res, 200, { data: null }));
    const c = fx.client();
    const params = { vmid: 210, name: "server01", onboot: true, tags: ["starbase", "starbase-homelab"], description: "a&b c" };
    await c.post(apiPath`/nodes/${"pve1"}/qemu`, params);
    await c.put(apiPath`/nodes/${"pve1"}/qemu/${210}/config`, { delete: ["ide2"], agent: false });
    const [post, put] = fx.server.requests;
    expect(post?.method).toBe("POST");
    expect(post?.url).toBe("/api2/json/nodes/pve1/qemu");
    expect(post?.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(post?.body.toString()).toBe("vmid=210&name=server01&onboot=1&tags=starbase%2Cstarbase-homelab&description=a%26b%20c");
    expect(post?.headers["content-length"]).toBe(String(post?.body.length));
    expect(post?.headers["transfer-encoding"]).toBeUndefined();
    expect(put?.method).toBe("PUT");
    expect(put?.url).toBe("/api2/json/nodes/pve1/qemu/210/config");
    expect(put?.body.toString()).toBe("delete=ide2&agent=0");
  });

  test("POST without parameters sends no body", async () => {
    fx.answer((_req, res) => reply(res, 200, { data: UPID }));
    expect(await fx.client().post<string>(apiPath`/nodes/${"pve1"}/qemu/${100}/status/start`)).toBe(UPID);
    expect(fx.server.requests[0]?.body.length).toBe(0);
  });

  test("DELETE sends parameters in the query string", async () => {
    fx.answer((_req, res) => reply(res, 200, { data: UPID }));
    await fx.client().delete(apiPath`/nodes/${"pve1"}/qemu/${100}`, { purge: true, "destroy-unreferenced-disks": true });
    const [req] = fx.server.requests;
    expect(req?.method).toBe("DELETE");
    expect(req?.url).toBe("/api2/json/nodes/pve1/qemu/100?purge=1&destroy-unreferenced-disks=1");
    expect(req?.body.length).toBe(0);
  });

  test("a UPID in the path arrives as one segment that decodes to the UPID", async () => {
    fx.answer((_req, res) => reply(res, 200, { data: { status: "running" } }));
    await fx.client().get(apiPath`/nodes/${"pve1"}/tasks/${UPID}/status`);
    const segments = (fx.server.requests[0]?.url ?? "").split("/");
    expect(segments.slice(0, 6)).toEqual(["", "api2", "json", "nodes", "pve1", "tasks"]);
    expect(segments.slice(7)).toEqual(["status"]);
    expect(decodeURIComponent(segments[6] ?? "")).toBe(UPID);
  });

  test("a path that is not encoded is refused without a request", async () => {
    const c = fx.client();
    await expect(c.get(`/nodes/pve1/tasks/${UPID} x/status`)).rejects.toThrow(/apiPath/);
    await expect(c.get("version")).rejects.toThrow(/apiPath/);
    expect(fx.server.requests.length).toBe(0);
  });
});
