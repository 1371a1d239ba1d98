// The PVE API schema extract in pve-schema/: it covers every route the emulator serves, holds
// only validation data, and scripts/pve-schema.ts makes it and detects drift from the API dumps.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ROUTES } from "./routes/index.ts";
import { ApiSchema, schemaFileFor } from "./schema.ts";

const ROOT = resolve(import.meta.dir, "..", "..");
const EXTRACT_DIR = join(import.meta.dir, "pve-schema");
const RELEASES = ["9.1", "8.4"];

function listedEndpoints(file = join(EXTRACT_DIR, "endpoints.txt")): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter((line) => line !== "");
}

const concrete = (template: string): string => template.replace(/\{[^}]+\}/g, "x");

describe("the schema extract", () => {
  test("every route the emulator serves is listed in endpoints.txt and has its schema in the extract", () => {
    const listed = listedEndpoints();
    const schemas = RELEASES.map((release) => ApiSchema.load(schemaFileFor(release)));
    const unchecked = ROUTES.filter((route) => {
      if (!listed.includes(`${route.method} ${route.path}`)) return true;
      return !schemas.some((schema) => schema.match(route.method, concrete(route.path))?.template === route.path &&
        schema.match(route.method, concrete(route.path))?.info !== undefined);
    }).map((route) => `${route.method} ${route.path}`);
    expect(unchecked).toEqual([]);
  });

  test("each release's file holds exactly the listed methods, without description texts", () => {
    const schemaKeys = new Set(["type", "optional", "default", "enum", "pattern", "format", "minimum", "maximum", "minLength", "maxLength",
      "requires", "default_key", "alias", "keyAlias", "items", "properties", "additionalProperties", "typetext", "indexRange"]);
    const foreign: string[] = [];
    const checkSchema = (schema: Record<string, unknown>, where: string): void => {
      for (const [key, value] of Object.entries(schema)) {
        if (!schemaKeys.has(key)) foreign.push(`${where}: ${key}`);
        if (key === "properties" || (key === "format" && typeof value === "object" && value !== null)) {
          for (const [name, inner] of Object.entries(value as Record<string, Record<string, unknown>>)) checkSchema(inner, `${where}.${name}`);
        } else if ((key === "items" || key === "additionalProperties") && typeof value === "object" && value !== null) {
          checkSchema(value as Record<string, unknown>, `${where}.${key}`);
        }
      }
    };
    for (const release of RELEASES) {
      const document = JSON.parse(readFileSync(schemaFileFor(release), "utf8"));
      expect(document.release).toBe(release);
      expect(document.source.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(Object.keys(document.methods).sort()).toEqual(listedEndpoints().sort());
      for (const [endpoint, method] of Object.entries<Record<string, Record<string, unknown>>>(document.methods)) {
        for (const key of Object.keys(method)) if (!["allowtoken", "permissions", "parameters", "returns"].includes(key)) foreign.push(`${endpoint}: ${key}`);
        for (const key of Object.keys(method.permissions ?? {})) if (key !== "check" && key !== "user") foreign.push(`${endpoint} permissions: ${key}`);
        const properties = (method.parameters?.properties ?? {}) as Record<string, Record<string, unknown>>;
        for (const [name, schema] of Object.entries(properties)) checkSchema(schema, `${endpoint} ${name}`);
        if (method.returns) checkSchema(method.returns, `${endpoint} returns`);
      }
    }
    expect(foreign).toEqual([]);
  });

  test("indexed options keep their stated ranges; typetext stays only where it spells out a named format's keys", () => {
    const schema = ApiSchema.load(schemaFileFor("9.1"));
    const create = schema.match("POST", "/nodes/x/qemu")?.info;
    if (!create) throw new Error("POST /nodes/{node}/qemu is missing from the 9.1 extract");
    const options = schema.properties(create);
    expect(options.scsi30).toBeDefined();
    expect(options.scsi31).toBeUndefined();
    expect(options.ide3).toBeDefined();
    expect(options.ide4).toBeUndefined();
    expect(options.boot?.typetext).toContain("order=");
    expect(options.name?.typetext).toBeUndefined();
  });
});

// A small API dump in the shape pve-docs publishes, to run the script on.
function dump(release: string): unknown[] {
  const config = {
    path: "/nodes/{node}/qemu/{vmid}/config",
    text: "config",
    leaf: 1,
    info: {
      GET: { method: "GET", name: "vm_config", description: "Get the VM configuration.", allowtoken: 1, protected: 1, proxyto: "node",
        permissions: { check: ["perm", "/vms/{vmid}", ["VM.Audit"]], description: "Needs VM.Audit." },
        parameters: { additionalProperties: 0, properties: { node: { type: "string", format: "pve-node", description: "The node." } } },
        returns: { type: "object", description: "The config.", links: [{ rel: "child" }] } },
      PUT: { method: "PUT", name: "update_vm", description: "Set options.", allowtoken: 1,
        permissions: { check: ["perm", "/vms/{vmid}", ["VM.Config.Options"]] },
        parameters: { additionalProperties: 0, properties: {
          "net[n]": { type: "string", optional: 1, description: `Network device (n is 0 to ${release === "9.1" ? 31 : 15}).`,
            format: { model: { type: "string", default_key: 1, enum: ["virtio", "e1000"], format_description: "model" } } },
          boot: { type: "string", optional: 1, format: "pve-qm-boot", typetext: "[[legacy=]<[acdn]{1,4}>] [,order=<device[;device...]>]" },
          name: { type: "string", optional: 1, format: "dns-name", typetext: "<string>", verbose_description: "A long text." },
        } } },
    },
  };
  const vmid = { path: "/nodes/{node}/qemu/{vmid}", text: "{vmid}", leaf: 0, children: [config],
    info: { DELETE: { method: "DELETE", name: "destroy_vm", parameters: { properties: {} }, permissions: { check: ["perm", "/vms/{vmid}", ["VM.Allocate"]] } } } };
  const qemu = { path: "/nodes/{node}/qemu", text: "qemu", leaf: 0, children: [vmid] };
  const node = { path: "/nodes/{node}", text: "{node}", leaf: 0, children: [qemu] };
  return [{ path: "/nodes", text: "nodes", leaf: 0, children: [node] }];
}

describe("scripts/pve-schema.ts", () => {
  const scratch = mkdtempSync(join(tmpdir(), "pve-schema-script-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const source = join(scratch, "dumps");
  const out = join(scratch, "extract");
  mkdirSync(source);
  mkdirSync(out);
  writeFileSync(join(source, "apidata.json"), JSON.stringify(dump("9.1")));
  writeFileSync(join(source, "apidata-pve8.4.json"), JSON.stringify(dump("8.4")));
  const endpoints = join(out, "endpoints.txt");
  writeFileSync(endpoints, "# test\nGET /nodes/{node}/qemu/{vmid}/config\nPUT /nodes/{node}/qemu/{vmid}/config\n");

  function script(args: string[]): { rc: number; output: string } {
    const result = Bun.spawnSync([process.execPath, "scripts/pve-schema.ts", "--out", out, "--endpoints", endpoints, ...args], {
      cwd: ROOT,
      stdout: "pipe",
      stderr: "pipe",
    });
    return { rc: result.exitCode, output: result.stdout.toString() + result.stderr.toString() };
  }

  test("writes one extract per release with the listed methods and only validation data", () => {
    const made = script(["--source", source]);
    expect(made.rc).toBe(0);
    const extract = JSON.parse(readFileSync(join(out, "9.1.json"), "utf8"));
    expect(Object.keys(extract.methods)).toEqual(["GET /nodes/{node}/qemu/{vmid}/config", "PUT /nodes/{node}/qemu/{vmid}/config"]);
    expect(extract.methods["GET /nodes/{node}/qemu/{vmid}/config"]).toEqual({
      allowtoken: 1,
      permissions: { check: ["perm", "/vms/{vmid}", ["VM.Audit"]] },
      parameters: { additionalProperties: 0, properties: { node: { type: "string", format: "pve-node" } } },
      returns: { type: "object" },
    });
    expect(extract.methods["PUT /nodes/{node}/qemu/{vmid}/config"].parameters.properties).toEqual({
      "net[n]": { type: "string", optional: 1, format: { model: { type: "string", enum: ["virtio", "e1000"], default_key: 1 } }, indexRange: [0, 31] },
      boot: { type: "string", optional: 1, format: "pve-qm-boot", typetext: "[[legacy=]<[acdn]{1,4}>] [,order=<device[;device...]>]" },
      name: { type: "string", optional: 1, format: "dns-name" },
    });
    const older = JSON.parse(readFileSync(join(out, "8.4.json"), "utf8"));
    expect(older.methods["PUT /nodes/{node}/qemu/{vmid}/config"].parameters.properties["net[n]"].indexRange).toEqual([0, 15]);
    // The emulator's loader routes and validates with it.
    const schema = ApiSchema.load(join(out, "9.1.json"));
    const put = schema.match("PUT", "/nodes/n1/qemu/100/config");
    expect(put?.pathParams).toEqual({ node: "n1", vmid: "100" });
    expect(schema.validate(put!.info!, { net31: "virtio", colour: "red" })).toEqual({
      colour: "property is not defined in schema and the schema does not allow additional properties",
    });
    expect(schema.match("DELETE", "/nodes/n1/qemu/100")?.info).toBeUndefined();
  });

  test("--check passes on a matching extract and fails, naming the file, when it differs", () => {
    expect(script(["--source", source]).rc).toBe(0);
    const clean = script(["--source", source, "--check"]);
    expect(clean).toEqual({ rc: 0, output: expect.stringContaining("drift check passed") });
    const file = join(out, "8.4.json");
    writeFileSync(file, readFileSync(file, "utf8").replace('"optional":1', '"optional":0'));
    const drifted = script(["--source", source, "--check"]);
    expect(drifted.rc).toBe(1);
    expect(drifted.output).toContain("drift check failed");
    expect(drifted.output).toContain("8.4.json");
    expect(drifted.output).not.toContain("9.1.json");
  });

  test("--check without the dumps says that it did not run; generating without them fails", () => {
    const absent = join(scratch, "no-such-dir");
    const check = script(["--source", absent, "--check"]);
    expect(check).toEqual({ rc: 0, output: expect.stringContaining("drift check did not run") });
    expect(script(["--source", absent]).rc).toBe(1);
  });

  test("an endpoint that no release has is refused (a typo in endpoints.txt)", () => {
    writeFileSync(endpoints, "GET /nodes/{node}/qemu/{vmid}/config\nGET /nodes/{node}/qemu/{vmid}/konfig\n");
    const made = script(["--source", source]);
    expect(made.rc).toBe(1);
    expect(made.output).toContain("no release has GET /nodes/{node}/qemu/{vmid}/konfig");
  });
});
