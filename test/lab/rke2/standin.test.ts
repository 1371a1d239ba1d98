// The RKE2 stand-in on the lab (issue 8 §4): real keepalived + haproxy on two load balancers
// with the configs starbase renders, three servers running real etcd, real kubectl on the control
// namespace. One lab for the file; the tests run in order and build on each other:
//   1. the first server: token, rke2.yaml, node-ip, /ping; kubectl through the VIP fails while the
//      serving certificate lacks the VIP and works once tls-san has it
//   2. configs RKE2 refuses, a token for another CA and a join that bypasses haproxy fail
//   3. joins one after the other succeed (learner, then promoted), through haproxy
//   4. removing an etcd member that would lose quorum fails (etcd's refusal); the others succeed
//   5. two joins at once: one fails with etcd's "too many learner members in cluster"
//   6. cordon, drain, delete node, HelmCharts from the manifests directory
//   7. an agent joins through the VIP
import { beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { useLab } from "../fixture.ts";
import { prepareRke2Lab, rke2Topology, type RecordLine, type Rke2Lab } from "./cluster.ts";

const STEP_MS = 240_000;
const AGENT_READY_AFTER_MS = 10_000;
let c: Rke2Lab;
let kubeconfig: string;

const learnerAdds = (records: RecordLine[]) => records.filter((r) => r.event === "etcd-learner-add");

async function start(name: string, unit = "rke2-server"): Promise<{ code: number; ms: number; stderr: string }> {
  const t0 = Date.now();
  // Type=notify: systemctl start returns once the stand-in said READY=1 (or the start failed).
  const result = await c.exec(name, ["timeout", "120", "systemctl", "start", unit]);
  if (result.code !== 0) console.log((await c.exec(name, ["journalctl", "-u", unit, "--no-pager", "-n", "25", "-o", "cat"])).stdout);
  return { code: result.code, ms: Date.now() - t0, stderr: result.stderr };
}

async function members(): Promise<Array<{ name: string; learner: boolean }>> {
  const out = await c.exec("server01", ["sh", "-c", "ETCDCTL_API=3 etcdctl --endpoints=http://127.0.0.1:2379 member list -w json"]);
  const parsed = JSON.parse(out.stdout) as { members: Array<{ name?: string; isLearner?: boolean }> };
  return parsed.members.map((m) => ({ name: m.name ?? "", learner: m.isLearner === true }));
}

async function nodes(): Promise<Array<{ name: string; ready: string; ip: string; unschedulable: boolean }>> {
  const out = await c.kubectl(kubeconfig, ["get", "nodes", "-o", "json"]);
  expect(out.stderr).toBe("");
  const list = JSON.parse(out.stdout) as { items: Array<{ metadata: { name: string }; spec: { unschedulable?: boolean }; status: { conditions: Array<{ type: string; status: string }>; addresses: Array<{ type: string; address: string }> } }> };
  return list.items.map((n) => ({
    name: n.metadata.name,
    ready: n.status.conditions.find((x) => x.type === "Ready")?.status ?? "",
    ip: n.status.addresses.find((a) => a.type === "InternalIP")?.address ?? "",
    unschedulable: n.spec.unschedulable === true,
  }));
}

/** Starts without waiting (a start that fails is retried by systemd forever, like RKE2's unit). */
async function startNoBlock(name: string, unit = "rke2-server"): Promise<void> {
  const result = await c.exec(name, ["systemctl", "start", "--no-block", unit]);
  expect(result.code).toBe(0);
}

async function firstExit(name: string): Promise<RecordLine> {
  return c.until(`${name} to give up`, 60_000, async () => (await c.records(name)).find((r) => r.event === "exit"));
}

/** Stops a server and forgets everything it had (etcd data, certificates, kubeconfig): a fresh host again. */
async function wipe(name: string): Promise<void> {
  await c.exec(name, ["systemctl", "stop", "rke2-server"]);
  await c.exec(name, ["systemctl", "reset-failed", "rke2-server"]);
  await c.sh(name, "rm -rf /var/lib/rancher/rke2/server /etc/rancher/rke2/rke2.yaml /var/lib/starbase-lab/rke2-records.jsonl");
}

if (!Bun.which("kubectl")) throw new Error("kubectl is missing on this machine (apt-get install kubernetes-client): the stand-in is tested with the real kubectl");
const { topology, inv } = rke2Topology({ subnet: 44, servers: 3, agents: 1, readyAfterMs: 3000, readyAfterMsOf: { agent01: AGENT_READY_AFTER_MS } });
const fixture = useLab("sb-rke2", topology);
beforeAll(async () => {
  c = await prepareRke2Lab(fixture.lab(), inv, fixture.scratch());
}, 120_000);

describe("RKE2 stand-in on the lab", () => {
  test("the first server: token with the CA hash, rke2.yaml, Ready node; kubectl through the VIP needs the VIP among the SANs", async () => {
    // tls-san without the VIP (a drop-in wins over config.yaml, as in RKE2).
    await c.write("server01", "/etc/rancher/rke2/config.yaml.d/50-no-vip.yaml", "tls-san: [lb01, lb02]\n");
    const started = await start("server01");
    expect(started.code).toBe(0);
    console.log(`first server ready after ${started.ms} ms`);

    await c.haproxySees("server01", "UP");
    const token = (await c.exec("server01", ["cat", "/var/lib/rancher/rke2/server/node-token"])).stdout.trim();
    const cacerts = (await c.lab.control(["curl", "-sk", `https://${c.vip}:9345/cacerts`])).stdout;
    expect(cacerts).toContain("BEGIN CERTIFICATE");
    expect(token).toMatch(/^K10[0-9a-f]{64}::server:[0-9a-f]{32}$/);
    expect(token.slice(3, 67)).toBe(createHash("sha256").update(cacerts).digest("hex"));
    expect((await c.lab.control(["curl", "-sk", `https://${c.vip}:9345/ping`])).stdout).toBe("pong");
    const mode = await c.exec("server01", ["stat", "-c", "%a", "/etc/rancher/rke2/rke2.yaml"]);
    expect(mode.stdout.trim()).toBe("600"); // write-kubeconfig-mode "0600" from the rendered config

    kubeconfig = await c.kubeconfigFor("server01", `https://${c.vip}:6443`, "admin-vip.yaml");
    const refused = await c.kubectl(kubeconfig, ["get", "nodes"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("x509");
    expect(refused.stderr).toContain(c.vip);

    await c.exec("server01", ["rm", "/etc/rancher/rke2/config.yaml.d/50-no-vip.yaml"]);
    expect((await c.exec("server01", ["systemctl", "restart", "rke2-server"])).code).toBe(0);
    const ready = await c.until("server01 Ready through the VIP", 60_000, async () => {
      const out = await c.kubectl(kubeconfig, ["get", "nodes", "-o", "json"]);
      return out.code === 0 && out.stdout.includes('"status": "True"') ? out : undefined;
    });
    expect(ready.code).toBe(0);
    expect(await nodes()).toEqual([{ name: "server01", ready: "True", ip: "198.18.44.21", unschedulable: false }]);
    const table = await c.kubectl(kubeconfig, ["get", "nodes"]);
    expect(table.stdout).toMatch(/server01\s+Ready\s+control-plane,etcd,master\s/);
    // The server's own kubectl, with the unmodified rke2.yaml (https://127.0.0.1:6443).
    const local = await c.exec("server01", ["/var/lib/rancher/rke2/bin/kubectl", "--kubeconfig", "/etc/rancher/rke2/rke2.yaml", "get", "nodes", "-o", "name"]);
    expect(local.stdout.trim()).toBe("node/server01");
    // Without a client certificate the API answers 401, as RKE2's does.
    const anonymous = await c.lab.control(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", `https://${c.vip}:6443/readyz`]);
    expect(anonymous.stdout).toBe("401");
  }, STEP_MS);

  test("configs RKE2 refuses, a token for another CA and a join that bypasses haproxy fail", async () => {
    // No token-file yet: joining without a token.
    await startNoBlock("server02");
    expect((await firstExit("server02")).reason).toBe("token-file: open /etc/rancher/rke2/join-token: no such file or directory");
    await wipe("server02");
    await c.write("server02", "/etc/rancher/rke2/config.yaml.d/40-broken.yaml", "node-label: [a=b\n");
    await startNoBlock("server02");
    const broken = await firstExit("server02");
    expect(String(broken.reason)).toStartWith("failed to parse /etc/rancher/rke2/config.yaml.d/40-broken.yaml");
    expect((await c.records("server02")).map((r) => r.event)).toEqual(["config-refused", "exit"]);
    await c.exec("server02", ["rm", "/etc/rancher/rke2/config.yaml.d/40-broken.yaml"]);
    await wipe("server02");
    // A well-formed token for another cluster's CA.
    await c.write("server02", "/etc/rancher/rke2/join-token", `K10${"0".repeat(64)}::server:wrong\n`, "0600");
    await startNoBlock("server02");
    expect(String((await firstExit("server02")).reason)).toStartWith(`token CA hash does not match the Cluster CA certificate hash: ${"0".repeat(64)} != `);
    await wipe("server02");

    await c.shareJoinToken("server01", "server02");
    await c.write("server02", "/etc/rancher/rke2/config.yaml.d/50-direct.yaml", "server: https://198.18.44.21:9345\n");
    await startNoBlock("server02");
    const exit = await firstExit("server02");
    expect(String(exit.reason)).toContain("did not come through haproxy");
    const refused = (await c.records("server01")).filter((r) => r.event === "supervisor-request" && r.allowed === false);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]).toMatchObject({ peer: "198.18.44.22", urlHost: "198.18.44.21", status: 403 });
    expect(learnerAdds(await c.records("server02"))).toEqual([]);
    expect((await members()).length).toBe(1);
    await c.exec("server02", ["rm", "/etc/rancher/rke2/config.yaml.d/50-direct.yaml"]);
    await wipe("server02");
  }, STEP_MS);

  test("joins one after the other succeed: learner through haproxy, promoted, Ready", async () => {
    for (const name of ["server02", "server03"]) {
      await c.shareJoinToken("server01", name);
      const started = await start(name);
      expect(started.code).toBe(0);
      console.log(`${name} joined and promoted after ${started.ms} ms`);
      const adds = learnerAdds(await c.records(name));
      expect(adds.map((a) => a.ok)).toEqual([true]);
    }
    // Every join request reached a supervisor from a load balancer, for the VIP.
    const requests = (await Promise.all(["server01", "server02", "server03"].map((s) => c.records(s)))).flat().filter((r) => r.event === "supervisor-request");
    const joins = requests.filter((r) => r.path === "/v1-rke2/server-bootstrap");
    expect(joins.length).toBe(2);
    for (const r of joins) {
      expect(["198.18.44.11", "198.18.44.12"]).toContain(String(r.peer));
      expect(r.urlHost).toBe(c.vip);
    }
    expect(await members()).toEqual(expect.arrayContaining([expect.objectContaining({ learner: false })]));
    expect((await members()).filter((m) => !m.learner).length).toBe(3);
    await c.until("three Ready nodes", 30_000, async () => ((await nodes()).filter((n) => n.ready === "True").length === 3 ? true : undefined));
    expect((await nodes()).map((n) => `${n.name}=${n.ip}`).sort()).toEqual(["server01=198.18.44.21", "server02=198.18.44.22", "server03=198.18.44.23"]);
  }, STEP_MS);

  test("removing a member that would lose quorum fails; delete node removes the etcd member otherwise", async () => {
    await c.exec("server03", ["systemctl", "stop", "rke2-server"]);
    await c.haproxySees("server03", "DOWN");
    // Members {1,2,3}, started {1,2}: without server02, {1,3} would have one started member of two.
    const refused = await c.kubectl(kubeconfig, ["delete", "node", "server02"]);
    expect(refused.code).not.toBe(0);
    // etcd 3.4's own refusal (server.go mayRemoveMember, --strict-reconfig-check): the removal
    // would leave fewer connected voters than a quorum.
    expect(refused.stderr).toContain("etcdserver: unhealthy cluster");
    expect((await members()).length).toBe(3);
    expect((await nodes()).map((n) => n.name)).toContain("server02");
    const refusals = (await Promise.all(["server01", "server02"].map((s) => c.records(s)))).flat().filter((r) => r.event === "etcd-member-remove");
    expect(refusals.map((r) => [r.node, r.ok])).toEqual([["server02", false]]);

    // Without the stopped server03, {1,2} are both started: allowed.
    expect((await c.kubectl(kubeconfig, ["delete", "node", "server03"])).code).toBe(0);
    expect((await members()).map((m) => m.name.replace(/-[0-9a-f]{8}$/, "")).sort()).toEqual(["server01", "server02"]);
    // And server02 while it runs (its own etcd then stops, and so does its unit's process). Asked
    // of server01 directly: through the VIP the request may land on server02's dying API.
    const direct = await c.kubeconfigFor("server01", "https://198.18.44.21:6443", "admin-server01.yaml");
    const removed = await c.kubectl(direct, ["delete", "node", "server02"]);
    expect(removed.stderr).toBe("");
    expect((await members()).map((m) => m.name.replace(/-[0-9a-f]{8}$/, ""))).toEqual(["server01"]);
    await c.exec("server02", ["systemctl", "stop", "rke2-server"]);
    await c.haproxySees("server02", "DOWN");
    expect((await nodes()).map((n) => n.name)).toEqual(["server01"]);
  }, STEP_MS);

  test("two joins at once: one fails with etcd's too many learner members, systemd retries it", async () => {
    await wipe("server02");
    await wipe("server03");
    for (const name of ["server02", "server03"]) await c.shareJoinToken("server01", name);
    const t0 = Date.now();
    await Promise.all([startNoBlock("server02"), startNoBlock("server03")]);
    await c.until("both joins to have tried", 60_000, async () => {
      const tried = await Promise.all(["server02", "server03"].map(async (s) => learnerAdds(await c.records(s)).length > 0));
      return tried.every(Boolean) ? true : undefined;
    });
    const adds = [...learnerAdds(await c.records("server02")), ...learnerAdds(await c.records("server03"))].sort((x, y) => x.time.localeCompare(y.time));
    console.log(adds.map((a) => `${a.time} ${a.host} ok=${a.ok} ${a.error ?? ""}`).join("\n"));
    // Records are written when each answer arrives, so their order does not tell which add etcd took first.
    const succeeded = adds.filter((r) => r.ok === true);
    expect(succeeded.length).toBeGreaterThan(0);
    const failed = adds.filter((r) => r.ok === false);
    expect(failed.length).toBeGreaterThan(0);
    // The first failure is the collision: the other join's learner is still there. etcd answers
    // it with "too many learner members", or (k3s-io/k3s#12794) leaves it unanswered until the
    // client's timeout; RKE2 fails the join either way.
    const collision = /etcdserver: too many learner members in cluster|timed out/;
    expect(String(failed[0]!.error)).toMatch(collision);
    const loser = String(failed[0]!.host);
    expect(succeeded.some((r) => r.host !== loser)).toBe(true);
    const exit = (await c.records(loser)).find((r) => r.event === "exit");
    expect(String(exit?.reason)).toStartWith("ETCD join failed: ");
    expect(String(exit?.reason)).toMatch(collision);
    // The failed join was the start job's failure; Restart=always tries again after 5 s and that join succeeds once the other learner is promoted.
    await c.until(`${loser} active again`, 90_000, async () => ((await c.unitProperty(loser, "rke2-server", "ActiveState")) === "active" ? true : undefined));
    expect(Number(await c.unitProperty(loser, "rke2-server", "NRestarts"))).toBeGreaterThan(0);
    await c.until("three voting members", 60_000, async () => ((await members()).filter((m) => !m.learner).length === 3 ? true : undefined));
    console.log(`two concurrent joins settled after ${Date.now() - t0} ms`);
    for (const name of ["server02", "server03"]) await c.haproxySees(name, "UP");
  }, STEP_MS);

  test("cordon, drain and uncordon a node; HelmCharts from the manifests directory, invalid files reported", async () => {
    expect((await c.kubectl(kubeconfig, ["cordon", "server03"])).code).toBe(0);
    expect((await nodes()).find((n) => n.name === "server03")?.unschedulable).toBe(true);
    const drained = await c.kubectl(kubeconfig, ["drain", "server03", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=30s"]);
    expect(drained.stderr).toBe("");
    expect(drained.stdout).toContain("node/server03 drained");
    expect((await c.kubectl(kubeconfig, ["uncordon", "server03"])).code).toBe(0);
    expect((await nodes()).find((n) => n.name === "server03")?.unschedulable).toBe(false);

    const dir = "/var/lib/rancher/rke2/server/manifests";
    await c.write("server01", `${dir}/kured.yaml`, [
      "apiVersion: helm.cattle.io/v1", "kind: HelmChart", "metadata:", "  name: kured", "  namespace: kube-system",
      "spec:", "  repo: https://kubereboot.github.io/charts", "  chart: kured", "  version: 5.6.0", "  targetNamespace: kube-system", "",
    ].join("\n"));
    await c.write("server01", `${dir}/broken.yaml`, "apiVersion: helm.cattle.io/v1\nkind: HelmChart\nmetadata:\n  name: Broken_Name\nspec:\n  chart: x\n");
    const listed = await c.until("the kured HelmChart", 30_000, async () => {
      const out = await c.kubectl(kubeconfig, ["get", "helmcharts", "-n", "kube-system", "-o", "json"]);
      return out.code === 0 && out.stdout.includes('"kured"') ? out : undefined;
    });
    const charts = JSON.parse(listed.stdout) as { items: Array<{ metadata: { name: string }; spec: { chart: string; version: string } }> };
    expect(charts.items.map((i) => [i.metadata.name, i.spec.chart, i.spec.version])).toEqual([["kured", "kured", "5.6.0"]]);
    const rejected = await c.until("the broken manifest reported", 30_000, async () => {
      const found = (await c.records("server01")).filter((r) => r.event === "manifest-rejected");
      return found.length > 0 ? found : undefined;
    });
    expect(rejected.map((r) => r.file)).toEqual([`${dir}/broken.yaml`]);
    expect(String(rejected[0]!.reason)).toContain("not a valid DNS-1123 subdomain");
  }, STEP_MS);

  test("an agent joins through the VIP and becomes a Ready node with its node-ip", async () => {
    await c.shareJoinToken("server01", "agent01");
    const t0 = Date.now();
    const started = await start("agent01", "rke2-agent");
    expect(started.code).toBe(0);
    // Registered (the unit is up) but not Ready before readyAfterMs.
    expect((await nodes()).find((n) => n.name === "agent01")?.ready).toBe("False");
    // kubectl wait watches the node until its Ready condition turns True.
    const waited = await c.kubectl(kubeconfig, ["wait", "--for=condition=Ready", "node/agent01", "--timeout=30s"]);
    expect(waited.stdout.trim()).toBe("node/agent01 condition met");
    expect(Date.now() - t0).toBeGreaterThanOrEqual(AGENT_READY_AFTER_MS);
    expect((await nodes()).find((n) => n.name === "agent01")?.ip).toBe("198.18.44.31");
    const requests = (await Promise.all(["server01", "server02", "server03"].map((s) => c.records(s)))).flat();
    const certs = requests.filter((r) => r.event === "supervisor-request" && r.path === "/v1-rke2/client-kubelet.crt");
    // At least one (a retried request after a lost answer asks again); every one through haproxy for the VIP.
    expect(certs.length).toBeGreaterThan(0);
    for (const r of certs) {
      expect(["198.18.44.11", "198.18.44.12"]).toContain(String(r.peer));
      expect(r.urlHost).toBe(c.vip);
    }
    if (certs.length > 1) console.log(`agent01 asked for its certificate ${certs.length} times; its records:\n${(await c.records("agent01")).map((r) => JSON.stringify(r)).join("\n")}`);
    expect((await c.kubectl(kubeconfig, ["delete", "node", "agent01"])).code).toBe(0);
    expect((await nodes()).map((n) => n.name)).not.toContain("agent01");
  }, STEP_MS);
});

