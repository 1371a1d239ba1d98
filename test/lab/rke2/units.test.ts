// The stand-in's pure parts, without a lab: config.yaml merging and refusals, the token format and
// its CA check, HelmChart validation. The lab test (standin.test.ts) covers the running stand-in.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, interpretConfig, mergeConfig, parseConfigText } from "./config.ts";
import { checkHelmChart, readManifest } from "./manifests.ts";
import { checkCAHash, formatToken, hashCA, parseToken } from "./token.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

function config(...files: string[]) {
  return mergeConfig(files.map((text, i) => parseConfigText(text, `file${i}.yaml`)));
}

describe("config.yaml", () => {
  test("drop-ins: the last value wins, key+ appends, comma lists split", () => {
    const merged = config("tls-san: [a, b]\nnode-label: [x=1]\ntoken: one\n", "tls-san: c,d\nnode-label+: [y=2]\ntoken: two\n");
    const cfg = interpretConfig(merged, "server");
    expect(cfg.tlsSan).toEqual(["c", "d"]);
    expect(cfg.nodeLabel).toEqual(["x=1", "y=2"]);
    expect(cfg.token).toBe("two");
  });

  test("malformed YAML and a top level that is no mapping are refused with the file's name", () => {
    expect(() => parseConfigText("server: [https://x\n", "/etc/rancher/rke2/config.yaml")).toThrow(/failed to parse \/etc\/rancher\/rke2\/config.yaml/);
    expect(() => parseConfigText("- a\n- b\n", "c.yaml")).toThrow(ConfigError);
    expect(parseConfigText("# only a comment\n", "c.yaml")).toEqual([]);
  });

  test("joining without a token is refused; the first server may go without", () => {
    expect(() => interpretConfig(config("server: https://198.18.0.10:9345\n"), "server")).toThrow("--token is required");
    expect(() => interpretConfig(config("token: x\n"), "agent")).toThrow("--server is required");
    expect(interpretConfig(config("node-name: s1\n"), "server").token).toBeUndefined();
  });

  test("token-file is read; a missing one is refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "rke2-cfg-"));
    try {
      writeFileSync(join(dir, "t"), "K10abc::server:pw\n");
      // RKE2_STANDIN_ROOT is unset in tests: paths are the machine's, so use an absolute one.
      expect(interpretConfig(config(`token-file: ${join(dir, "t")}\nserver: https://198.18.0.10:9345\n`), "server").token).toBe("K10abc::server:pw");
      expect(() => interpretConfig(config(`token-file: ${join(dir, "nope")}\n`), "server")).toThrow(/no such file/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a server URL must be https; write-kubeconfig-mode must be octal; node-ip an address", () => {
    expect(() => interpretConfig(config("server: http://198.18.0.10:9345\ntoken: x\n"), "agent")).toThrow("only https:// URLs are supported");
    expect(() => interpretConfig(config('write-kubeconfig-mode: "0999"\n'), "server")).toThrow("invalid file mode");
    expect(interpretConfig(config('write-kubeconfig-mode: "0640"\n'), "server").writeKubeconfigMode).toBe(0o640);
    expect(() => interpretConfig(config("node-ip: server01\n"), "server")).toThrow("invalid node-ip");
  });

  test("unknown keys and server-only keys on an agent warn, as RKE2 does, and do not stop it", () => {
    const cfg = interpretConfig(config("server: https://v:9345\ntoken: x\ntls-san: [a]\nfrobnicate: 1\n"), "agent");
    expect(cfg.warnings).toEqual(["Unknown flag --tls-san found in config.yaml, skipping", "Unknown flag --frobnicate found in config.yaml, skipping"]);
    expect(cfg.tlsSan).toEqual([]);
  });
});

describe("tokens (k3s clientaccess)", () => {
  test("a full token carries the SHA-256 of the CA bundle and server:<password>", () => {
    const token = formatToken(CA, "server", "secret");
    expect(token).toBe(`K10${hashCA(CA)}::server:secret`);
    expect(parseToken(token)).toEqual({ caHash: hashCA(CA), username: "server", password: "secret" });
    expect(checkCAHash(parseToken(token), CA)).toEqual({});
  });

  test("a short token has no hash: accepted with k3s's warning", () => {
    expect(parseToken("secret")).toEqual({ caHash: "", username: "", password: "secret" });
    expect(checkCAHash(parseToken("secret"), CA).warning).toContain("does not include a CA hash");
  });

  test("another CA, a bad hash length, a token without credentials are refused", () => {
    const other = formatToken(`${CA}x`, "server", "secret");
    expect(() => checkCAHash(parseToken(other), CA)).toThrow(`token CA hash does not match the Cluster CA certificate hash: ${hashCA(`${CA}x`)} != ${hashCA(CA)}`);
    expect(() => parseToken("K10abcd::server:x")).toThrow("invalid token CA hash length");
    expect(() => parseToken(`K10${hashCA(CA)}::nocolon`)).toThrow("invalid token format");
    expect(() => parseToken("")).toThrow("token must not be empty");
  });
});

describe("manifests (HelmChart only)", () => {
  const chart = (spec: unknown, name: unknown = "kured") => ({ apiVersion: "helm.cattle.io/v1", kind: "HelmChart", metadata: { name }, spec });

  test("a HelmChart without namespace lands in kube-system", () => {
    expect(checkHelmChart(chart({ chart: "kured", version: "5.6.0" }), "f").chart?.metadata.namespace).toBe("kube-system");
  });

  test("wrong kinds, names and field types are problems, not silence", () => {
    expect(checkHelmChart({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" } }, "f").problem).toContain("is not a helm.cattle.io/v1 HelmChart");
    expect(checkHelmChart(chart({ chart: "x" }, "Bad_Name"), "f").problem).toContain("not a valid DNS-1123 subdomain");
    expect(checkHelmChart(chart({ chart: "x", version: 5 }), "f").problem).toContain("spec.version in body must be of type string");
    expect(checkHelmChart(chart({ repo: "r" }), "f").problem).toContain("neither spec.chart nor spec.chartContent");
    expect(checkHelmChart(chart(undefined), "f").problem).toContain("has no spec");
  });

  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), "rke2-manifests-"))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("a file's documents are checked one by one; broken YAML is reported with the file", () => {
    writeFileSync(join(dir, "two.yaml"), "apiVersion: helm.cattle.io/v1\nkind: HelmChart\nmetadata: {name: a}\nspec: {chart: a}\n---\nkind: Secret\n");
    const two = readManifest(join(dir, "two.yaml"), "two.yaml");
    expect(two.charts.map((c) => c.metadata.name)).toEqual(["a"]);
    expect(two.problems).toEqual(["two.yaml (document 2): undefined/Secret is not a helm.cattle.io/v1 HelmChart (the stand-in applies HelmCharts only)"]);
    writeFileSync(join(dir, "bad.yaml"), "spec: [unclosed\n");
    expect(readManifest(join(dir, "bad.yaml"), "bad.yaml").problems[0]).toStartWith("bad.yaml: ");
    writeFileSync(join(dir, "empty.yaml"), "# nothing\n");
    expect(readManifest(join(dir, "empty.yaml"), "empty.yaml").problems).toEqual(["empty.yaml: no objects in file"]);
  });
});
