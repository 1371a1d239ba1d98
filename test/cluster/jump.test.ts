// The cluster session through ssh.jumpHost: the control side reaches only the jump host (a
// front network; the jump host forwards nothing itself), so every VM is reached through the
// hop's direct-tcpip channels, each VM still checked against its derived host key and the hop
// against ssh.knownHosts. boot, the LB pair (its VIP check goes through the hop too) and the
// first server converge; the VMs are not reachable from the control side directly.
import { describe, expect, test } from "bun:test";
import { useClusterLab } from "./harness.ts";

const cluster = useClusterLab("cluster-jump", "examples/minimal.yaml", {
  labNetwork: "198.18.66",
  jumpNetwork: "198.18.67",
  edit: (doc) => doc.setIn(["rke2", "version"], "v1.33.5+rke2r1"),
});

describe("--phase cluster through a jump host", () => {
  test("the VMs do not answer the control side directly", async () => {
    const direct = await cluster().control(["sh", "-c", "timeout 3 bash -c 'echo > /dev/tcp/198.18.66.21/22' 2>&1; echo rc=$?"]);
    expect(direct.stdout).not.toContain("rc=0");
  });

  test("apply --phase cluster converges through the hop", async () => {
    const started = Date.now();
    const apply = await cluster().starbase(["apply", cluster().file, "--phase", "cluster", "--yes"]);
    console.log(`apply through the jump host: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    if (apply.code !== 0) console.log(apply.stdout, apply.stderr);
    expect(apply.code).toBe(0);
    expect((await cluster().lab.exec("server01", ["systemctl", "is-active", "rke2-server"])).stdout.trim()).toBe("active");
    const again = await cluster().starbase(["apply", cluster().file, "--phase", "cluster", "--yes"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^No changes/);
  }, 600_000);
});
