// The boot step and the cluster phase's failure isolation, on real lab hosts through
// `starbase apply FILE --phase cluster` (from source, in the control namespace, ssh-agent only,
// no Proxmox credentials in the environment):
//   lb01      a transactional update waits for its reboot: boot reboots it, the package is active after
//   server01  cloud-init reports an error: its branch stops with cloud-init's error and its log's tail
//   server02  presents another host key: its branch stops with both fingerprints
//   agent01   is not in the lab at all: it does not answer on port 22
// Each failure names host and step and says what to do; lb01's branch finishes regardless.
import { describe, expect, test } from "bun:test";
import { setCloudInit, useClusterLab } from "./harness.ts";

const cluster = useClusterLab("cluster-boot", "test/cluster/boot.yaml", {
  topology: (topology) => ({ ...topology, hosts: topology.hosts.filter((host) => host.name !== "agent01") }),
});

async function inHost(host: string, script: string): Promise<string> {
  const result = await cluster().lab.exec(host, ["sh", "-c", script]);
  if (result.code !== 0) throw new Error(`${host}: ${script}: ${result.stderr}`);
  return result.stdout.trim();
}

/** The failure lines of one step in the summary: "failed: boot:server02 (host server02): …" and what follows. */
function failure(output: string, step: string): string {
  // The plain reporter stamps every line: "2026-…Z failed: …", continuation lines "2026-…Z     …".
  const lines = output.split("\n").map((line) => line.replace(/^\d{4}-\d\d-\d\dT[\d:.]+Z /, ""));
  const at = lines.findIndex((line) => line.includes(`failed: ${step} `));
  if (at < 0) return "";
  const rest = lines.slice(at + 1);
  const end = rest.findIndex((line) => !line.startsWith("    "));
  return [lines[at], ...rest.slice(0, end < 0 ? rest.length : end)].join("\n");
}

describe("boot", () => {
  test("set up the hosts' troubles", async () => {
    const lab = cluster().lab;
    await inHost("lb01", "transactional-update --non-interactive pkg install chrony >/dev/null && test -e /run/reboot-needed");
    await setCloudInit(lab, "server01", "error", "starbase-lab: runcmd failed on purpose");
    await inHost("server02", "cp -p /etc/ssh/ssh_host_ed25519_key /root/derived_key && cp -p /etc/ssh/ssh_host_ed25519_key.pub /root/derived_key.pub"
      + " && rm /etc/ssh/ssh_host_ed25519_key* && ssh-keygen -q -t ed25519 -N '' -f /etc/ssh/ssh_host_ed25519_key && systemctl restart ssh");
  }, 60_000);

  test("plan --phase cluster observes over SSH and says what apply would do, without Proxmox", async () => {
    const { file } = cluster();
    const plan = await cluster().starbase(["plan", file, "--phase", "cluster"]);
    expect(plan.code).toBe(1); // three hosts cannot be observed
    expect(plan.stdout).toContain("~ host lb01 reboot (a transactional update waits for a reboot; an installed update becomes active with it)");
    expect(plan.stdout).toContain("= host lb01 SSH (answers with the host key derived from ssh.hostKeySecret)");
    expect(plan.stdout).toMatch(/boot:server02\n\s+error: server02: host key mismatch: the host presented SHA256:\S+, expected SHA256:\S+/);
    expect(plan.stdout).toMatch(/boot:server01\n\s+error: server01: cloud-init failed on the first boot: starbase-lab: runcmd failed on purpose/);
    expect(plan.stdout).toMatch(/boot:agent01\n\s+error: agent01: does not answer on SSH at 198\.18\.63\.41:22/);
    expect(plan.stdout).toContain("Plan (cluster):");
    // Nothing acted: the update still waits for its reboot.
    expect(cluster().lab.boots("lb01")).toBe(1);
  }, 120_000);

  test("apply: each broken host stops its own branch with host, step and what to do; lb01 reboots and finishes", async () => {
    const { file, lab } = cluster();
    const started = Date.now();
    const apply = await cluster().starbase(["apply", file, "--phase", "cluster", "--yes", "--boot-timeout", "8"]);
    const output = apply.stdout + apply.stderr;
    console.log(`apply with three broken hosts: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    expect(apply.code).toBe(1);
    expect(output).not.toContain("PVE_TOKEN_SECRET");

    const keyFailure = failure(output, "boot:server02");
    expect(keyFailure).toMatch(/server02: host key mismatch: the host presented SHA256:\S+, expected SHA256:\S+ \(derived from ssh.hostKeySecret\)/);
    expect(keyFailure).toContain("check the host key secret");

    const cloudInitFailure = failure(output, "boot:server01");
    expect(cloudInitFailure).toContain("server01: cloud-init failed on the first boot: starbase-lab: runcmd failed on purpose");
    expect(cloudInitFailure).toContain("last lines of /var/log/cloud-init-output.log:");
    expect(cloudInitFailure).toMatch(/ {4,} {2}starbase-lab: runcmd failed on purpose/);

    const silentFailure = failure(output, "boot:agent01");
    expect(silentFailure).toContain("agent01: does not answer on SSH at 198.18.63.41:22 within 8 s");
    expect(silentFailure).toContain("the host does not answer on port 22");

    // The independent branch finished: lb01 rebooted, and the package is active now.
    expect(output).toMatch(/boot:lb01 changed/);
    expect(lab.boots("lb01")).toBe(2);
    expect(await inHost("lb01", "rpm -q chrony")).toMatch(/^chrony-/);
    expect(output).toMatch(/a retry cannot change the failures of boot:/);
  }, 180_000);

  test("a host whose cloud-init still runs is waited for, with a progress line that says so", async () => {
    const { file, lab } = cluster();
    await setCloudInit(lab, "server01", "running");
    await inHost("server02", "mv /root/derived_key /etc/ssh/ssh_host_ed25519_key && mv /root/derived_key.pub /etc/ssh/ssh_host_ed25519_key.pub && systemctl restart ssh");
    const applying = cluster().starbase(["apply", file, "--phase", "cluster", "--yes", "--boot-timeout", "8"]);
    // Finish cloud-init only once apply waits for it (its `cloud-init status --wait` runs on the host).
    const deadline = Date.now() + 90_000;
    while ((await lab.exec("server01", ["pgrep", "-f", "cloud-init status --wait"])).code !== 0) {
      if (Date.now() > deadline) throw new Error("apply never waited for cloud-init on server01");
      await Bun.sleep(200);
    }
    await Bun.sleep(1500);
    await setCloudInit(lab, "server01", "done");
    const apply = await applying;
    const output = apply.stdout + apply.stderr;
    expect(output).toMatch(/boot:server01 server01: waiting for cloud-init \(\d+ s\)/);
    expect(output).toMatch(/boot:server01 changed/);
    expect(output).toMatch(/boot:server02 unchanged/);
    expect(failure(output, "boot:server01")).toBe("");
    expect(failure(output, "boot:server02")).toBe("");
    // Only the host that is not there still fails.
    expect(failure(output, "boot:agent01")).toContain("does not answer on SSH");
    expect(apply.code).toBe(1);
  }, 180_000);
});
