// kured and kubeconfig, end to end through a jump host: examples/minimal.yaml moved into
// 198.18.66.0/24, and the control namespace attached only to a front network (198.18.67.0/24)
// where a jump host sits with a leg in each; hosts do not forward, so everything starbase does
// goes through ssh.jumpHost, the API check through a channel the jump host forwards.
//   apply --phase cluster --yes: the LB, the first server, the kured HelmChart served by the API,
//     <cluster>.kubeconfig beside FILE (0600, server https://VIP:6443); real kubectl with that file
//     lists the node Ready through the VIP (run in the jump host's network namespace).
//   a second apply: the kubeconfig and the manifest keep their mtime and inode.
//   starbase kubeconfig FILE -o PATH, then again (nothing written); --merge into a kubeconfig
//     holding another cluster (its entries and current context kept, a backup of the old file).
import { beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseDocument } from "yaml";
import type { ClusterLab } from "./harness.ts";
import { useClusterLab } from "./harness.ts";
import { eventShapes, matchEvent } from "../cli/json-shapes.ts";
import { repo } from "../cli/run-starbase.ts";

const RELEASE = "v1.33.5+rke2r1";
const NET = "198.18.66";
const FRONT = "198.18.67";
const JUMP = `${FRONT}.21`;
const VIP = `${NET}.10`;
const MANIFEST = "/var/lib/rancher/rke2/server/manifests/starbase-kured.yaml";

let clientPublicKey = "";
const cluster = useClusterLab("cluster-kube", "examples/minimal.yaml", {
  labNetwork: NET,
  readyAfterMs: 300,
  edit: (doc) => {
    doc.setIn(["rke2", "version"], RELEASE);
    clientPublicKey = (doc.toJS() as { ssh: { authorizedKeys: string[] } }).ssh.authorizedKeys[0]!;
  },
  topology: (topology) => {
    const clusterNet = topology.networks[0]!.name;
    return {
      networks: [...topology.networks, { name: "front", cidr: `${FRONT}.0/24` }],
      hosts: [
        ...topology.hosts,
        {
          name: "jump",
          nics: [{ network: "front", ip: JUMP }, { network: clusterNet, ip: `${NET}.250` }],
          login: [{ name: "root", authorizedKeys: [clientPublicKey] }],
          defaultRoute: null,
        },
      ],
      control: [{ network: "front" }],
    };
  },
});

// The lab of a spec is one flat network (it refuses ssh.jumpHost): the jump host goes into the spec once the lab is up.
beforeAll(() => {
  const file = cluster().file;
  const doc = parseDocument(readFileSync(file, "utf8"));
  doc.setIn(["ssh", "jumpHost"], `root@${JUMP}`);
  // The lab writes every host's key (the jump host's too) into DIR/known_hosts; DIR is lab/ beside the spec.
  doc.setIn(["ssh", "knownHosts"], "./lab/known_hosts");
  writeFileSync(file, doc.toString());
});

function kubeconfigPath(c: ClusterLab): string {
  return join(c.scratch, "mini.kubeconfig");
}

/** Real kubectl in the jump host's network namespace (this machine's file system): what a user on the jump host runs. */
async function kubectlOnJump(c: ClusterLab, file: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const pid = c.lab.initPid("jump");
  if (pid === undefined) throw new Error("the jump host is not running");
  const child = Bun.spawn(["nsenter", "-t", String(pid), "-n", "kubectl", "--kubeconfig", file, ...args], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return { code, stdout, stderr };
}

function fileStamp(path: string): string {
  const st = statSync(path);
  return `${st.mtimeMs} ${st.ino} ${(st.mode & 0o777).toString(8)}`;
}

describe("kured and kubeconfig through a jump host (examples/minimal.yaml)", () => {
  test("the control side reaches only the jump host", async () => {
    const direct = await cluster().control(["bash", "-c", `exec 3<>/dev/tcp/${NET}.11/22 && echo reached`]);
    expect(direct.stdout).not.toContain("reached");
    const jump = await cluster().control(["bash", "-c", `exec 3<>/dev/tcp/${JUMP}/22 && echo reached`]);
    expect(jump.stdout).toContain("reached");
  }, 30_000);

  test("apply --phase cluster through the jump host: kured's HelmChart served, the kubeconfig beside FILE works with real kubectl through the VIP", async () => {
    const c = cluster();
    const started = Date.now();
    const apply = await c.starbase(["apply", c.file, "--phase", "cluster", "--yes"], { timeoutMs: 900_000 });
    console.log(`first apply through the jump host: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (apply.code !== 0) console.log(apply.stdout, apply.stderr);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain(`+ kubeconfig ${kubeconfigPath(c)}`);
    expect(apply.stdout).toContain(`+ server01 ${MANIFEST}`);
    // The client key never shows.
    expect(apply.stdout + apply.stderr).not.toContain("client-key-data");

    const written = readFileSync(kubeconfigPath(c), "utf8");
    expect(statSync(kubeconfigPath(c)).mode & 0o777).toBe(0o600);
    const doc = parse(written) as { clusters: Array<{ name: string; cluster: { server: string } }>; contexts: Array<{ name: string }>; "current-context": string };
    expect(doc.clusters).toHaveLength(1);
    expect(doc.clusters[0]!.name).toBe("mini");
    expect(doc.clusters[0]!.cluster.server).toBe(`https://${VIP}:6443`);
    expect(doc["current-context"]).toBe("mini");

    const nodes = await kubectlOnJump(c, kubeconfigPath(c), ["get", "nodes", "-o", "jsonpath={range .items[*]}{.metadata.name}={.status.conditions[?(@.type==\"Ready\")].status} {end}"]);
    expect(nodes.stderr).toBe("");
    expect(nodes.stdout.trim()).toBe("server01=True");
    const chart = await kubectlOnJump(c, kubeconfigPath(c), ["get", "helmcharts.helm.cattle.io", "-n", "kube-system", "starbase-kured", "-o", "jsonpath={.spec.chart} {.spec.repo}"]);
    expect(chart.stderr).toBe("");
    expect(chart.stdout).toBe("kured https://kubereboot.github.io/charts");
    const mode = await c.lab.exec("server01", ["stat", "-c", "%a %U", MANIFEST]);
    expect(mode.stdout.trim()).toBe("600 root");
  }, 960_000);

  test("a second apply writes neither the kubeconfig nor the manifest", async () => {
    const c = cluster();
    const before = fileStamp(kubeconfigPath(c));
    const manifestBefore = await c.lab.exec("server01", ["stat", "-c", "%Y %i", MANIFEST]);
    const again = await c.starbase(["apply", c.file, "--phase", "cluster", "--yes"], { timeoutMs: 300_000 });
    if (again.code !== 0) console.log(again.stdout, again.stderr);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^No changes: the nodes of mini match the spec/);
    expect(fileStamp(kubeconfigPath(c))).toBe(before);
    expect((await c.lab.exec("server01", ["stat", "-c", "%Y %i", MANIFEST])).stdout).toBe(manifestBefore.stdout);
    // plan says why the kubeconfig step has nothing to do: it used the file through the VIP.
    const plan = await c.starbase(["plan", c.file, "--phase", "cluster", "--output", "json"], { timeoutMs: 300_000 });
    expect(plan.stdout).toContain(`works through https://${VIP}:6443: 1 node, 1 Ready`);
  }, 620_000);

  test("starbase kubeconfig FILE -o PATH over SSH through the jump host; a second run writes nothing", async () => {
    const c = cluster();
    const out = join(c.scratch, "out", "admin.kubeconfig");
    const first = await c.starbase(["kubeconfig", c.file, "-o", out], { timeoutMs: 120_000 });
    if (first.code !== 0) console.log(first.stdout, first.stderr);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`wrote ${out}`);
    expect(first.stdout).toContain("1 node through the VIP, 1 Ready: server01");
    expect(readFileSync(out, "utf8")).toBe(readFileSync(kubeconfigPath(c), "utf8"));
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const stamp = fileStamp(out);
    const second = await c.starbase(["kubeconfig", c.file, "-o", out, "--output", "json"], { timeoutMs: 120_000 });
    expect(second.code).toBe(0);
    // The JSON event has the shape docs/json-events.md gives it, and says nothing was written.
    const shapes = eventShapes(readFileSync(join(repo, "docs", "json-events.md"), "utf8"));
    const lines = second.stdout.trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => matchEvent(shapes, line))).toEqual([{ variant: expect.objectContaining({ heading: "kubeconfig" }) }]);
    expect(lines[0]).toEqual({ type: "kubeconfig", cluster: "mini", path: out, written: false, merged: false, nodes: [{ name: "server01", ready: true }] });
    expect(fileStamp(out)).toBe(stamp);
  }, 300_000);

  test("--merge into ~/.kube/config (HOME of the command): another cluster's entries and the current context stay, the old file is kept as a backup", async () => {
    const c = cluster();
    const home = join(c.scratch, "home");
    const config = join(home, ".kube", "config");
    const other = [
      "apiVersion: v1",
      "kind: Config",
      "clusters: [{ name: other, cluster: { server: 'https://198.18.99.1:6443' } }, { name: mini, cluster: { server: 'https://198.18.99.2:6443' } }]",
      "users: [{ name: other, user: { token: abc } }]",
      "contexts: [{ name: other, context: { cluster: other, user: other } }]",
      "current-context: other",
      "",
    ].join("\n");
    Bun.spawnSync(["mkdir", "-p", join(home, ".kube")]);
    writeFileSync(config, other, { mode: 0o644 });
    const merged = await c.starbase(["kubeconfig", c.file, "--merge"], { env: { HOME: home }, timeoutMs: 120_000 });
    if (merged.code !== 0) console.log(merged.stdout, merged.stderr);
    expect(merged.code).toBe(0);
    expect(merged.stdout).toContain(`previous file kept as ${config}.starbase.bak`);
    expect(readFileSync(`${config}.starbase.bak`, "utf8")).toBe(other);
    expect(statSync(config).mode & 0o777).toBe(0o600);
    const doc = parse(readFileSync(config, "utf8")) as { clusters: Array<{ name: string; cluster: { server: string } }>; users: Array<{ name: string }>; "current-context": string };
    expect(doc.clusters.map((x) => `${x.name} ${x.cluster.server}`)).toEqual(["other https://198.18.99.1:6443", `mini https://${VIP}:6443`]);
    expect(doc.users.map((x) => x.name)).toEqual(["other", "mini"]);
    expect(doc["current-context"]).toBe("other");
    const nodes = await kubectlOnJump(c, config, ["--context", "mini", "get", "nodes", "-o", "name"]);
    expect(nodes.stdout.trim()).toBe("node/server01");
    const stamp = fileStamp(config);
    const again = await c.starbase(["kubeconfig", c.file, "--merge"], { env: { HOME: home }, timeoutMs: 120_000 });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("are up to date");
    expect(fileStamp(config)).toBe(stamp);
  }, 300_000);

  test("a HelmChart RKE2 refuses fails the kured step with RKE2's words, naming host and step; once RKE2 takes it, apply converges", async () => {
    const c = cluster();
    const reason = 'admission webhook "helmcharts.policy.example" denied the request: HelmCharts in kube-system need approval';
    await c.lab.exec("server01", ["sh", "-c", `mkdir -p /etc/starbase-lab/faults && cat > /etc/starbase-lab/faults/helmchart-refused`], { stdin: reason });
    const doc = parseDocument(readFileSync(c.file, "utf8"));
    doc.setIn(["kured", "chartVersion"], "5.6.2");
    writeFileSync(c.file, doc.toString());
    const refused = await c.starbase(["apply", c.file, "--phase", "cluster", "--yes"], { timeoutMs: 300_000 });
    const output = refused.stdout + refused.stderr;
    if (refused.code === 0) console.log(output);
    expect(refused.code).toBe(1);
    // The plain reporter's failure line names the step; the error names the host and quotes RKE2.
    expect(output).toContain(`failed: kured: server01: RKE2 refused ${MANIFEST}`);
    expect(output).toContain(`server01: RKE2 refused ${MANIFEST}, HelmChart kube-system/starbase-kured is not applied:`);
    // RKE2 logs in logfmt: the quotes of the reason come escaped.
    expect(output).toContain(reason.replaceAll('"', '\\"'));
    // RKE2 still serves the HelmChart it had: the run did not pretend otherwise.
    const before = await kubectlOnJump(c, kubeconfigPath(c), ["get", "helmcharts.helm.cattle.io", "-n", "kube-system", "starbase-kured", "-o", "jsonpath={.spec.version}"]);
    expect(before.stdout).toBe("5.6.1");
    await c.lab.exec("server01", ["rm", "/etc/starbase-lab/faults/helmchart-refused"]);
    const taken = await c.starbase(["apply", c.file, "--phase", "cluster", "--yes"], { timeoutMs: 300_000 });
    if (taken.code !== 0) console.log(taken.stdout, taken.stderr);
    expect(taken.code).toBe(0);
    const after = await kubectlOnJump(c, kubeconfigPath(c), ["get", "helmcharts.helm.cattle.io", "-n", "kube-system", "starbase-kured", "-o", "jsonpath={.spec.version}"]);
    expect(after.stdout).toBe("5.6.2");
  }, 700_000);
});
