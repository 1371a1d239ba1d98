// The kubeconfig on this machine: written 0600 through a rename, only when content or mode
// differs (a second write keeps mtime and inode); merged with another cluster's entries kept
// and the previous file backed up; the current context read from a kubeconfig.
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { defaultKubeconfigPath, mergeIntoFile, writeIfDifferent } from "../../src/kube/kubeconfig-file.ts";
import { clusterKubeconfig, kubeconfigAccess, KubeconfigError } from "../../src/render/kubeconfig.ts";

const dir = mkdtempSync(join(tmpdir(), "sb-kubeconfig-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const b64 = (text: string) => Buffer.from(text).toString("base64");
const RKE2_YAML = [
  "apiVersion: v1",
  "clusters:",
  `- cluster: { certificate-authority-data: ${b64("CA PEM")}, server: "https://127.0.0.1:6443" }`,
  "  name: default",
  "contexts: [{ context: { cluster: default, user: default }, name: default }]",
  "current-context: default",
  "kind: Config",
  `users: [{ name: default, user: { client-certificate-data: ${b64("CERT PEM")}, client-key-data: ${b64("KEY PEM")} } }]`,
  "",
].join("\n");
const ours = clusterKubeconfig(RKE2_YAML, "mini", "198.18.66.10");

const stamp = (path: string) => {
  const st = statSync(path);
  return { mtime: st.mtimeMs, ino: st.ino, mode: st.mode & 0o777 };
};

describe("writeIfDifferent", () => {
  test("missing: written 0600 with no temporary file left; same: nothing written; other mode: fixed; other content: replaced", () => {
    const path = join(dir, "sub", "mini.kubeconfig");
    expect(writeIfDifferent(path, ours)).toBe("missing");
    expect(readFileSync(path, "utf8")).toBe(ours);
    expect(stamp(path).mode).toBe(0o600);
    expect(readdirSync(join(dir, "sub"))).toEqual(["mini.kubeconfig"]);
    const first = stamp(path);
    Bun.sleepSync(20);
    expect(writeIfDifferent(path, ours)).toBe("same");
    expect(stamp(path)).toEqual(first);
    chmodSync(path, 0o644);
    expect(writeIfDifferent(path, ours)).toBe("mode");
    expect(stamp(path).mode).toBe(0o600);
    writeFileSync(path, "stale");
    expect(writeIfDifferent(path, ours)).toBe("content");
    expect(readFileSync(path, "utf8")).toBe(ours);
  });

  test("the default path is <cluster>.kubeconfig beside the spec file", () => {
    expect(defaultKubeconfigPath("/srv/clusters/cluster.yaml", "mini")).toBe("/srv/clusters/mini.kubeconfig");
  });
});

describe("mergeIntoFile", () => {
  test("into a missing file: written 0600, no backup, our context current", () => {
    const path = join(dir, "new", ".kube", "config");
    const outcome = mergeIntoFile(path, ours, "mini");
    expect(outcome).toEqual({ written: true, currentContext: "mini", replaced: false });
    expect(stamp(path).mode).toBe(0o600);
  });

  test("into a file with another cluster and a stale entry of ours: theirs kept, ours replaced, their current context kept, backup of the old text; a second merge writes nothing", () => {
    const path = join(dir, "config");
    const before = [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{ name: other, cluster: { server: 'https://198.18.99.1:6443' } }, { name: mini, cluster: { server: 'https://198.18.99.2:6443' } }]",
      "users: [{ name: other, user: { token: abc } }, { name: mini, user: { token: old } }]",
      "contexts: [{ name: other, context: { cluster: other, user: other } }]",
      "current-context: other",
      "",
    ].join("\n");
    writeFileSync(path, before, { mode: 0o644 });
    const outcome = mergeIntoFile(path, ours, "mini");
    expect(outcome).toEqual({ written: true, backup: `${path}.starbase.bak`, currentContext: "other", replaced: true });
    expect(readFileSync(`${path}.starbase.bak`, "utf8")).toBe(before);
    expect(stamp(`${path}.starbase.bak`).mode).toBe(0o600);
    const doc = parse(readFileSync(path, "utf8")) as { clusters: Array<{ name: string; cluster: { server: string } }>; users: Array<{ name: string; user: Record<string, string> }> };
    expect(doc.clusters.map((c) => `${c.name} ${c.cluster.server}`)).toEqual(["other https://198.18.99.1:6443", "mini https://198.18.66.10:6443"]);
    expect(doc.users.map((u) => u.name)).toEqual(["other", "mini"]);
    expect(doc.users[1]!.user["client-key-data"]).toBe(b64("KEY PEM"));
    expect(stamp(path).mode).toBe(0o600);
    const after = stamp(path);
    Bun.sleepSync(20);
    expect(mergeIntoFile(path, ours, "mini").written).toBe(false);
    expect(stamp(path)).toEqual(after);
  });
});

describe("kubeconfigAccess", () => {
  test("the current context's server, CA and client certificate, decoded", () => {
    expect(kubeconfigAccess(ours, "x")).toEqual({ server: "https://198.18.66.10:6443", host: "198.18.66.10", port: 6443, caPem: "CA PEM", certPem: "CERT PEM", keyPem: "KEY PEM" });
  });

  test("a kubeconfig without a client key, or with an http server, is refused by name", () => {
    expect(() => kubeconfigAccess(ours.replace(/client-key-data: .*/, "token: x"), "F")).toThrow(new KubeconfigError("F has no client-key-data"));
    expect(() => kubeconfigAccess(ours.replace("https://", "http://"), "F")).toThrow(/server http:\/\/198.18.66.10:6443 is not https/);
  });
});
