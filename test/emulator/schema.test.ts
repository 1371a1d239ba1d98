import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ApiClient, emulatorForTest } from "./client.ts";
import type { Emulator } from "./server.ts";
import { formatFromTypetext } from "./formats.ts";
import { parsePropertyString, perlPattern, FormatError } from "./validate.ts";

let emulator: Emulator;
let api: ApiClient;

beforeAll(async () => {
  ({ emulator, api } = await emulatorForTest({ nodes: ["n1"] }));
});
afterAll(() => emulator.stop());

async function rejected(method: string, path: string, params: Record<string, string | number | boolean>, json = false) {
  const response = await api.call(method, path, params, { json });
  expect(response.status).toBe(400);
  expect(response.reason).toBe("Parameter verification failed.");
  expect(response.headers.connection).toBe("close");
  expect(response.body.data).toBeNull();
  expect(response.body.message).toBe("Parameter verification failed.\n");
  return response.body.errors as Record<string, string>;
}

describe("parameter verification against the PVE 9.1 schema", () => {
  test("unknown parameters are rejected with the additionalProperties text", async () => {
    const errors = await rejected("POST", "/nodes/n1/qemu", { vmid: 100, colour: "blue" });
    expect(errors).toEqual({ colour: "property is not defined in schema and the schema does not allow additional properties" });
  });

  test("booleans accept 1/0 in forms and true/false in JSON, never the string 'true'", async () => {
    expect(await rejected("POST", "/nodes/n1/qemu", { vmid: 100, onboot: "true" })).toEqual({
      onboot: "type check ('boolean') failed - got 'true'",
    });
    const accepted = await api.call("POST", "/nodes/n1/qemu", { vmid: 150, onboot: true }, { json: true });
    expect(accepted.status).toBe(200);
  });

  test("enums, integer ranges and patterns", async () => {
    const errors = await rejected("POST", "/nodes/n1/qemu", { vmid: 99, ostype: "plan9", cores: 0, balloon: -1, startdate: "tomorrow" });
    // the format check runs before the range check, as in JSONSchema::check_prop
    expect(errors.vmid).toBe("invalid format - value does not look like a valid VM ID\n");
    expect(errors.balloon).toBe("value must have a minimum value of 0");
    expect(errors.ostype).toStartWith("value 'plan9' does not have a value in the enumeration 'other, wxp,");
    expect(errors.cores).toBe("value must have a minimum value of 1");
    expect(errors.startdate).toBe("value does not match the regex pattern");
  });

  test("dns-name, urlencoded and tag lists are checked by their formats", async () => {
    const errors = await rejected("POST", "/nodes/n1/qemu", { vmid: 100, name: "web_01", sshkeys: "ssh-ed25519 AAAA", tags: "ok;b@d" });
    expect(errors.name).toBe("invalid format - value does not look like a valid DNS name\n");
    expect(errors.sshkeys).toBe("invalid format - invalid urlencoded string: ssh-ed25519 AAAA\n");
    expect(errors.tags).toBe("invalid format - invalid characters in tag\n");
  });

  test("property strings: unknown keys, sub-key enums, booleans and default keys", async () => {
    const errors = await rejected("POST", "/nodes/n1/qemu", {
      vmid: 100,
      scsi0: "local-lvm:8,discard=maybe",
      net0: "virtio,bridge=vmbr0,colour=red",
      agent: "enabled=yes,type=pci",
      ipconfig0: "ip=10.0.0.5/24,gw=10.0.0.300",
    });
    expect(errors.scsi0).toBe(
      "invalid format - format error\nscsi0.discard: value 'maybe' does not have a value in the enumeration 'ignore, on'\n",
    );
    expect(errors.net0).toBe("invalid format - invalid key in comma-separated list property: colour\n");
    expect(errors.agent).toBe("invalid format - format error\nagent.type: value 'pci' does not have a value in the enumeration 'virtio, isa'\n");
    expect(errors.ipconfig0).toBe("invalid format - format error\nipconfig0.gw: invalid format - value does not look like a valid IPv4 address\n\n");
  });

  test("a valid create request with property strings passes validation", async () => {
    const response = await api.call("POST", "/nodes/n1/qemu", {
      vmid: 101,
      name: "web01.lan",
      scsi0: "local-lvm:4,discard=on,iothread=1,ssd=on",
      net0: "virtio=BC:24:11:00:00:01,bridge=vmbr0,tag=20",
      ipconfig0: "ip=10.0.0.5/24,gw=10.0.0.1",
      agent: "1",
      tags: "Starbase;web",
      sshkeys: encodeURIComponent("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7 ops@laptop"),
    });
    expect(response.status).toBe(200);
    expect(response.body.data).toStartWith("UPID:n1:");
  });

  test("missing required parameters and `requires` dependencies", async () => {
    const missing = await rejected("POST", "/nodes/n1/storage/local/download-url", { url: "https://example.org/a.iso", checksum: "abc" });
    expect(missing.content).toBe("property is missing and it is not optional");
    expect(missing.filename).toBe("property is missing and it is not optional");
    expect(missing["checksum-algorithm"]).toBe("missing property - 'checksum' requires this property");
  });

  test("-list formats check every item", async () => {
    const errors = await rejected("PUT", "/nodes/n1/qemu/101/config", { delete: "name,9bad" });
    expect(errors.delete).toBe("invalid format - invalid configuration ID '9bad'\n");
  });

  test("path placeholders are validated like parameters", async () => {
    const errors = await rejected("GET", "/nodes/n1/qemu/abc/config", {});
    expect(errors.vmid).toBe("type check ('integer') failed - got 'abc'");
  });

  test("a body value conflicting with the URI is refused", async () => {
    const errors = await rejected("PUT", "/nodes/n1/qemu/101/config", { vmid: 102, name: "x" });
    expect(errors.vmid).toBe("duplicate parameter (already defined in URI) with conflicting values!");
  });

  test("unknown paths and methods are 501 'not implemented'", async () => {
    const unknown = await api.call("GET", "/nodes/n1/qemu/101/nonsense");
    expect(unknown.status).toBe(501);
    expect(unknown.reason).toBe("Method 'GET /nodes/n1/qemu/101/nonsense' not implemented");
    const wrongMethod = await api.call("DELETE", "/version");
    expect(wrongMethod.status).toBe(501);
  });

  test("bodies over 512 KiB are refused before parsing", async () => {
    const response = await api.call("PUT", "/nodes/n1/qemu/101/config", {}, {
      body: `description=${"x".repeat(600 * 1024)}`,
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
    });
    expect(response.status).toBe(501);
    expect(response.reason).toBe("for data too large");
    expect(response.raw).toBe("");
  });
});

describe("validation building blocks", () => {
  test("Perl patterns are anchored like m/^$pattern$/ and Perl-only syntax is translated", () => {
    expect(perlPattern("(?^:^(0x)[0-9a-fA-F]{16})").test("0x0123456789abcdef")).toBe(true);
    expect(perlPattern("[A-Za-z0-9\\-_\\s]{,8}").test("123456789")).toBe(false);
    expect(perlPattern("\\+?\\d+(\\.\\d+)?[KMGT]?").test("+10G")).toBe(true);
    expect(perlPattern("\\+?\\d+(\\.\\d+)?[KMGT]?").test("10GB")).toBe(false);
  });

  test("parse_property_string semantics: default key, aliases with keyAlias, duplicates", () => {
    const format = {
      model: { type: "string", default_key: 1, enum: ["virtio", "e1000"] },
      macaddr: { type: "string", optional: 1 },
      virtio: { alias: "macaddr", keyAlias: "model" },
      firewall: { type: "boolean", optional: 1 },
    };
    expect(parsePropertyString(format, "virtio=BC:24:11:00:00:01,firewall=on", "net0")).toEqual({
      model: "virtio",
      macaddr: "BC:24:11:00:00:01",
      firewall: "1",
    });
    expect(() => parsePropertyString(format, "virtio,e1000", "net0")).toThrow(FormatError);
    expect(() => parsePropertyString(format, "firewall=1", "net0")).toThrow("format error");
  });

  test("named hash formats are recovered from their typetext", () => {
    expect(formatFromTypetext("[[legacy=]<[acdn]{1,4}>] [,order=<device[;device...]>]")).toEqual({
      legacy: { type: "string", optional: 1, default_key: 1 },
      order: { type: "string", optional: 1 },
    });
    expect(formatFromTypetext("[type=]<sev-type> [,allow-smt=<1|0>]")).toEqual({
      type: { type: "string", default_key: 1 },
      "allow-smt": { type: "boolean", optional: 1 },
    });
  });
});
