import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { clusterKubeconfig, KubeconfigError, mergeKubeconfig, vipServer } from "../../src/render/kubeconfig.ts";
import { makeScratch, removeScratch, runTool } from "./tools.ts";

let scratch: string;
beforeAll(() => {
  scratch = makeScratch("kubeconfig");
});
afterAll(() => removeScratch(scratch));

/** The shape RKE2 writes to /etc/rancher/rke2/rke2.yaml (k3s pkg/cli/server writeKubeConfig: every entry "default"). */
const RKE2_YAML = `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0Q2c9PQ==
    server: https://127.0.0.1:6443
  name: default
contexts:
- context:
    cluster: default
    user: default
  name: default
current-context: default
kind: Config
preferences: {}
users:
- name: default
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
`;

/** What real kubectl makes of a kubeconfig (offline: `config view` sends nothing). */
function kubectlView(text: string, label: string, jsonpath: string): string {
  const file = join(scratch, `${label}.yaml`);
  writeFileSync(file, text, { mode: 0o600 });
  const result = runTool(["kubectl", "config", "view", "--kubeconfig", file, "--raw", "-o", `jsonpath=${jsonpath}`]);
  if (result.code !== 0) throw new Error(`kubectl config view failed: ${result.stderr}`);
  return result.stdout;
}

describe("the kubeconfig starbase hands over", () => {
  test("points at the VIP, names cluster, user and context after the cluster, and keeps RKE2's credentials", () => {
    const text = clusterKubeconfig(RKE2_YAML, "homelab", "198.18.0.10");
    expect(kubectlView(text, "vip", "{.clusters[0].cluster.server}")).toBe("https://198.18.0.10:6443");
    expect(kubectlView(text, "names", "{.clusters[*].name} {.users[*].name} {.contexts[*].name} {.current-context}")).toBe(
      "homelab homelab homelab homelab",
    );
    expect(kubectlView(text, "ctx", "{.contexts[0].context.cluster}/{.contexts[0].context.user}")).toBe("homelab/homelab");
    expect(kubectlView(text, "creds", "{.users[0].user.client-key-data}")).toBe("S0VZ");
    expect(text).not.toContain("127.0.0.1");
  });

  test("an IPv6 VIP is bracketed", () => {
    expect(vipServer("fd00::10")).toBe("https://[fd00::10]:6443");
  });

  test("an rke2.yaml that is not one cluster with a CA is refused with what is wrong", () => {
    expect(() => clusterKubeconfig("clusters: [", "c", "198.18.0.10")).toThrow(KubeconfigError);
    expect(() => clusterKubeconfig("clusters: []\nusers: []\n", "c", "198.18.0.10")).toThrow("exactly one cluster, it holds 0");
    const noCa = RKE2_YAML.replace(/ {4}certificate-authority-data: .*\n/, "");
    expect(() => clusterKubeconfig(noCa, "c", "198.18.0.10")).toThrow("no certificate-authority-data");
  });
});

describe("merging into an existing kubeconfig", () => {
  const other = `apiVersion: v1
kind: Config
clusters:
- name: work
  cluster: { server: "https://work.example:6443", insecure-skip-tls-verify: true }
- name: homelab
  cluster: { server: "https://198.18.9.9:6443" }
users:
- name: work
  user: { token: abc }
- name: homelab
  user: { token: old }
contexts:
- name: work
  context: { cluster: work, user: work, namespace: apps }
- name: homelab
  context: { cluster: homelab, user: homelab }
current-context: work
`;

  test("replaces only this cluster's entries, keeps the others and the chosen context", () => {
    const ours = clusterKubeconfig(RKE2_YAML, "homelab", "198.18.0.10");
    const merged = mergeKubeconfig(other, ours, "homelab", "~/.kube/config");
    expect(merged.replaced).toBe(true);
    expect(merged.currentContext).toBe("work");
    expect(kubectlView(merged.text, "m-names", "{.clusters[*].name}|{.users[*].name}|{.contexts[*].name}|{.current-context}")).toBe(
      "homelab work|homelab work|homelab work|work", // kubectl lists entries by name
    );
    expect(kubectlView(merged.text, "m-server", `{.clusters[?(@.name=="homelab")].cluster.server}`)).toBe("https://198.18.0.10:6443");
    expect(kubectlView(merged.text, "m-work", `{.contexts[?(@.name=="work")].context.namespace}`)).toBe("apps");
    expect(merged.text).not.toContain("token: old");
  });

  test("into an empty or missing file: ours, and its context becomes current", () => {
    const ours = clusterKubeconfig(RKE2_YAML, "homelab", "198.18.0.10");
    const merged = mergeKubeconfig("", ours, "homelab", "~/.kube/config");
    expect(merged.replaced).toBe(false);
    expect(kubectlView(merged.text, "empty", "{.current-context}")).toBe("homelab");
  });

  test("a file that is not a kubeconfig is refused, naming it", () => {
    const ours = clusterKubeconfig(RKE2_YAML, "homelab", "198.18.0.10");
    expect(() => mergeKubeconfig("- a\n- b\n", ours, "homelab", "/home/me/.kube/config")).toThrow("/home/me/.kube/config is not a kubeconfig");
    expect(() => mergeKubeconfig("clusters: 3\n", ours, "homelab", "K")).toThrow("K: clusters is not a list");
  });
});
