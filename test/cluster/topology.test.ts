// The 2 load balancer / 3 server / 2 agent topology (test/cluster/topology.yaml, the release
// pinned) through the entry point, `starbase apply FILE --phase cluster --yes` from source
// in the control namespace. Checked on the hosts: every host configured; every join went through
// the VIP and haproxy (the RKE2 stand-in's records: the joiner's server URL, and the first
// server's supervisor requests from a load balancer's address for the VIP); real kubectl through
// https://VIP:6443 lists every node Ready; a second apply writes nothing, restarts nothing and
// logs in once per host.
import { describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { useClusterLab } from "./harness.ts";

const RELEASE = "v1.33.5+rke2r1";
const VIP = "198.18.61.10";
const LBS = ["198.18.61.11", "198.18.61.12"];
const HOSTS = ["lb01", "lb02", "server01", "server02", "server03", "agent01", "agent02"];
const NODES = HOSTS.filter((host) => !host.startsWith("lb"));
const cluster = useClusterLab("cluster-topology", "test/cluster/topology.yaml", { edit: (doc) => doc.setIn(["rke2", "version"], RELEASE) });

async function inHost(host: string, script: string): Promise<string> {
  return (await cluster().lab.exec(host, ["sh", "-c", script])).stdout;
}

function records(text: string): Record<string, unknown>[] {
  return text.split("\n").filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function hostState(host: string): Promise<string> {
  return inHost(host, "find /etc/keepalived /etc/haproxy /etc/rancher -type f 2>/dev/null | sort | xargs -r stat -c '%n %Y %i'; "
    + "find /etc/keepalived /etc/haproxy /etc/rancher -type f 2>/dev/null | sort | xargs -r sha256sum; "
    + "for u in keepalived haproxy rke2-server rke2-agent; do systemctl show -p Id -p ActiveState -p ActiveEnterTimestampMonotonic $u; done");
}

const logins = async (host: string) => Number((await inHost(host, "journalctl -u ssh --no-pager -o cat | grep -c 'Accepted publickey' || true")).trim());

describe("2 LB / 3 servers / 2 agents, --phase cluster", () => {
  test("apply configures every host; every join goes through the VIP", async () => {
    const started = Date.now();
    const apply = await cluster().starbase(["apply", cluster().file, "--phase", "cluster", "--yes"], { timeoutMs: 900_000 });
    console.log(`first apply, 7 hosts: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (apply.code !== 0) console.log(apply.stdout, apply.stderr);
    expect(apply.code).toBe(0);
    for (const lb of ["lb01", "lb02"]) expect((await inHost(lb, "systemctl is-active keepalived haproxy")).split("\n").filter(Boolean)).toEqual(["active", "active"]);
    for (const node of NODES) {
      const unit = node.startsWith("agent") ? "rke2-agent" : "rke2-server";
      expect({ node, active: (await inHost(node, `systemctl is-active ${unit}`)).trim() }).toEqual({ node, active: "active" });
    }
    for (const joiner of ["server02", "server03", "agent01", "agent02"]) {
      const starts = records(await inHost(joiner, "cat /var/lib/starbase-lab/rke2-records.jsonl")).filter((r) => r.event === "start");
      expect({ joiner, servers: [...new Set(starts.map((r) => r.server))] }).toEqual({ joiner, servers: [`https://${VIP}:9345`] });
    }
    const requests = records(await inHost("server01", "cat /var/lib/starbase-lab/rke2-records.jsonl")).filter((r) => r.event === "supervisor-request");
    expect(requests.length).toBeGreaterThan(0);
    for (const request of requests) {
      expect({ allowed: request.allowed, viaLb: LBS.includes(String(request.peer)), host: String(request.urlHost).split(":")[0] }).toEqual({ allowed: true, viaLb: true, host: VIP });
    }
  }, 1_000_000);

  test("real kubectl with the kubeconfig apply wrote beside FILE lists every node Ready on the spec's release, through https://VIP:6443", async () => {
    const file = join(cluster().scratch, "labc.kubeconfig");
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect((parse(readFileSync(file, "utf8")) as { clusters: { cluster: { server: string } }[] }).clusters[0]!.cluster.server).toBe(`https://${VIP}:6443`);
    const got = await cluster().control(["kubectl", "--kubeconfig", file, "get", "nodes", "-o", "json"]);
    expect(got.code).toBe(0);
    const nodes = (JSON.parse(got.stdout) as { items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[]; nodeInfo: { kubeletVersion: string } } }[] }).items;
    const ready = nodes.map((n) => [n.metadata.name, n.status.conditions.find((c) => c.type === "Ready")?.status, n.status.nodeInfo.kubeletVersion]);
    expect(ready.sort()).toEqual(NODES.map((name) => [name, "True", RELEASE]).sort());
  }, 60_000);

  test("a second apply changes nothing on any host and logs in once per host", async () => {
    const before = await Promise.all(HOSTS.map(hostState));
    const loginsBefore = await Promise.all(HOSTS.map(logins));
    const started = Date.now();
    const again = await cluster().starbase(["apply", cluster().file, "--phase", "cluster", "--yes"]);
    console.log(`second apply, 7 hosts: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^No changes: the nodes of labc match the spec/);
    const after = await Promise.all(HOSTS.map(hostState));
    const loginsAfter = await Promise.all(HOSTS.map(logins));
    for (const [i, host] of HOSTS.entries()) {
      expect({ host, state: after[i] }).toEqual({ host, state: before[i] });
      expect({ host, logins: loginsAfter[i]! - loginsBefore[i]! }).toEqual({ host, logins: 1 });
    }
  }, 300_000);
});
