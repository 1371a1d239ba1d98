// The entry point on examples/minimal.yaml (moved into 198.18.65.0/24, the RKE2 release
// pinned: the lab has no channel server): `starbase apply FILE --phase cluster --yes` from
// source in the control namespace, the key only in ssh-agent, no Proxmox credentials. Then a
// second apply, checked on the hosts themselves: no file written (hashes, mtimes), no unit
// restarted (ActiveEnterTimestampMonotonic), one new SSH login per host (sshd's journal).
import { describe, expect, test } from "bun:test";
import { useClusterLab } from "./harness.ts";

const RELEASE = "v1.33.5+rke2r1";
const cluster = useClusterLab("cluster-minimal", "examples/minimal.yaml", {
  labNetwork: "198.18.65",
  edit: (doc) => doc.setIn(["rke2", "version"], RELEASE),
});

/** Per host: every file under /etc that starbase may write (hash, mtime), the units' start times, sshd's logins so far. */
async function hostState(host: string): Promise<{ files: string; units: string; logins: number }> {
  const files = await cluster().lab.exec(host, ["sh", "-c",
    "find /etc/keepalived /etc/haproxy /etc/rancher /etc/transactional-update.conf /etc/rebootmgr -type f 2>/dev/null | sort | xargs -r stat -c '%n %Y %i' ; find /etc/keepalived /etc/haproxy /etc/rancher -type f 2>/dev/null | sort | xargs -r sha256sum"]);
  const units = await cluster().lab.exec(host, ["sh", "-c",
    "for u in keepalived haproxy rke2-server rke2-agent; do systemctl show -p Id -p ActiveState -p ActiveEnterTimestampMonotonic $u; done"]);
  const logins = await cluster().lab.exec(host, ["sh", "-c", "journalctl -u ssh --no-pager -o cat | grep -c 'Accepted publickey' || true"]);
  return { files: files.stdout, units: units.stdout, logins: Number(logins.stdout.trim()) };
}

describe("examples/minimal.yaml, --phase cluster", () => {
  test("apply converges over SSH alone", async () => {
    const started = Date.now();
    const apply = await cluster().starbase(["apply", cluster().file, "--phase", "cluster", "--yes"]);
    console.log(`first apply: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (apply.code !== 0) console.log(apply.stdout, apply.stderr);
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain("Changes made:");
    const lb = await cluster().lab.exec("lb01", ["systemctl", "is-active", "keepalived", "haproxy"]);
    expect(lb.stdout.split("\n").filter(Boolean)).toEqual(["active", "active"]);
    const server = await cluster().lab.exec("server01", ["systemctl", "is-active", "rke2-server"]);
    expect(server.stdout.trim()).toBe("active");
  }, 600_000);

  test("a second apply changes nothing on any host, as the hosts themselves show, and logs in once per host", async () => {
    const hosts = ["lb01", "server01"];
    const before = await Promise.all(hosts.map(hostState));
    const started = Date.now();
    const again = await cluster().starbase(["apply", cluster().file, "--phase", "cluster", "--yes"]);
    console.log(`second apply: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^No changes: the nodes of mini match the spec/);
    const after = await Promise.all(hosts.map(hostState));
    for (const [i, host] of hosts.entries()) {
      expect({ host, files: after[i]!.files, units: after[i]!.units }).toEqual({ host, files: before[i]!.files, units: before[i]!.units });
      expect({ host, logins: after[i]!.logins - before[i]!.logins }).toEqual({ host, logins: 1 });
    }
  }, 300_000);
});
