// The lab itself: `npm run lab` brings up hosts for a spec as the infra phase leaves VMs (the
// spec's login user with sudo, the host key starbase derives, the spec's NIC name and address),
// `exec` runs inside a host and passes its exit status on, `down` leaves nothing behind; the
// library builds a jump topology in which the control side reaches only the first hop.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { useLab } from "./fixture.ts";
import { generateKeyPair, loginUserData } from "./host-setup.ts";
import { labPrefix, labUp, type Lab } from "./lab.ts";
import { run } from "./netns.ts";

// Every step starts processes in and around real hosts; on a loaded machine that takes seconds.
setDefaultTimeout(30_000);

const ROOT = resolve(import.meta.dir, "..", "..");
const SECRET_ENV = { LAB_TEST_HOSTKEY_SECRET: "lab-test-secret-0123456789abcdef" };

/** Everything of the lab in dir that could be left behind: namespaces, processes, mounts, files, cgroups. */
function leftovers(dir: string): string[] {
  const prefix = labPrefix(dir);
  const found: string[] = [];
  for (const line of run(["ip", "netns", "list"]).stdout.split("\n")) if (line.startsWith(`${prefix}-`)) found.push(`netns ${line}`);
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      if (cmdline.includes(dir) || cmdline.includes(prefix)) found.push(`process ${pid}: ${cmdline}`);
    } catch {
      // gone meanwhile
    }
  }
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) if (line.includes(dir)) found.push(`mount ${line}`);
  if (existsSync(dir)) found.push(`files ${dir}: ${readdirSync(dir).join(" ")}`);
  for (const root of ["/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"]) {
    const group = join(root, "starbase-lab");
    if (existsSync(group)) for (const entry of readdirSync(group)) if (entry.startsWith(`${prefix}-`)) found.push(`cgroup ${join(group, entry)}`);
  }
  if (existsSync("/run/systemd/nspawn/propagate")) for (const entry of readdirSync("/run/systemd/nspawn/propagate")) if (entry.startsWith(`${prefix}-`)) found.push(`nspawn ${entry}`);
  return found;
}

function spawn(argv: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const result = Bun.spawnSync(argv, { cwd: ROOT, env: { ...process.env, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

function sshOptions(key: string, knownHosts: string): string[] {
  return ["-i", key, "-o", "IdentitiesOnly=yes", "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-F", "/dev/null"];
}

/** A spec whose network is net.0/24, one load balancer and two servers, the login user ops. */
function specYaml(net: string, authorizedKey: string, extraSsh = ""): string {
  return `name: labspec
proxmox:
  endpoint: https://pve.lan:8006
  tokenId: root@pam!starbase
  tokenSecret: { env: PVE_TOKEN_SECRET }
  tls: { fingerprint: "03:7C:FE:46:31:B7:7A:DE:9E:80:AD:95:AD:41:E4:1D:B4:D4:EF:71:96:C3:A7:F2:4E:26:7A:F7:B5:AD:83:AF" }
  nodes: [pve]
ssh:
  user: ops
  authorizedKeys: ["${authorizedKey}"]${extraSsh}
  hostKeySecret: { env: LAB_TEST_HOSTKEY_SECRET }
network:
  bridge: vmbr0
  interface: eth7
  cidr: ${net}.0/24
  gateway: ${net}.1
  dns: [${net}.1]
nodes:
  loadBalancers:
    hosts: [{ name: lb01, ip: ${net}.11 }]
  servers:
    hosts: [{ name: server01, ip: ${net}.21 }, { name: server02, ip: ${net}.22 }]
loadBalancer:
  vip: ${net}.10
`;
}

describe("npm run lab with a spec", () => {
  let scratch = "";
  let dir = "";
  let key = "";
  let spec = "";
  let up: { code: number; stdout: string; stderr: string };
  let exec: string[] = [];

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), "lab-spec-"));
    [dir, spec, key] = [join(scratch, "lab"), join(scratch, "cluster.yaml"), join(scratch, "id_ed25519")];
    run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ops@test", "-f", key]);
    writeFileSync(spec, specYaml("198.18.40", readFileSync(`${key}.pub`, "utf8").trim()));
    up = spawn([process.execPath, "scripts/lab.ts", "up", spec, "--dir", dir], SECRET_ENV);
    exec = (JSON.parse(up.stdout.trim().split("\n").at(-1) ?? "{}") as { exec?: string[] }).exec ?? [];
  }, 240_000);

  afterAll(async () => {
    if (scratch === "") return;
    spawn([process.execPath, "scripts/lab.ts", "down", "--dir", dir]);
    rmSync(scratch, { recursive: true, force: true });
  }, 60_000);

  test("up ends with the JSON line: ready, the host count and the control namespace's exec prefix", () => {
    expect(up.stderr).not.toContain("Error");
    expect(up.code).toBe(0);
    expect(JSON.parse(up.stdout.trim().split("\n").at(-1)!)).toEqual({ ready: true, hosts: 3, exec: ["ip", "netns", "exec", `${labPrefix(dir)}-ctl`] });
  });

  test("the spec's login user logs in over SSH from the control side, verified against the host keys starbase renders, and has sudo -n", () => {
    // render's known_hosts holds the keys starbase derives from the secret; the host must present exactly that one.
    const rendered = join(scratch, "render-check");
    expect(spawn([process.execPath, "src/main.ts", "render", spec, "--out", rendered], SECRET_ENV).code).toBe(0);
    for (const [name, ip] of [["lb01", "198.18.40.11"], ["server02", "198.18.40.22"]] as const) {
      const ssh = spawn([...exec, "ssh", ...sshOptions(key, join(rendered, "known_hosts")), `ops@${ip}`, "hostname; sudo -n id -u"]);
      expect({ name, ...ssh }).toEqual({ name, code: 0, stdout: `${name}\n0\n`, stderr: "" });
    }
    // A key the host does not present is refused.
    const wrong = join(scratch, "wrong_known_hosts");
    const server01Line = readFileSync(join(rendered, "known_hosts"), "utf8").split("\n").find((line) => line.startsWith("server01,"))!;
    writeFileSync(wrong, `${server01Line.replace("server01,198.18.40.21", "lb01,198.18.40.11")}\n`);
    expect(spawn([...exec, "ssh", ...sshOptions(key, wrong), "ops@198.18.40.11", "true"]).stderr).toContain("Host key verification failed");
  }, 30_000);

  test("each host has the spec's NIC name and address, the gateway answers, host.json describes the cluster", () => {
    const lab = spawn([process.execPath, "scripts/lab.ts", "exec", "--dir", dir, "server01", "--", "sh", "-c", "ip -br -4 address show dev eth7; ip route show default; ping -c1 -W2 198.18.40.1 >/dev/null && echo gateway; cat /etc/starbase-lab/host.json"]);
    expect(lab.code).toBe(0);
    const [address, route, gateway, ...json] = lab.stdout.split("\n");
    expect(address).toMatch(/^eth7@\S+\s+UP\s+198\.18\.40\.21\/24\s*$/);
    expect(route).toContain("default via 198.18.40.1 dev eth7");
    expect(gateway).toBe("gateway");
    expect(JSON.parse(json.join("\n"))).toEqual({
      name: "server01",
      role: "server",
      ip: "198.18.40.21",
      vip: "198.18.40.10",
      loadBalancers: ["198.18.40.11"],
      servers: ["198.18.40.21", "198.18.40.22"],
      firstServer: "198.18.40.21",
      readyAfterMs: 1000,
    });
  });

  test("Debian's real cloud-init applied the rendered user-data on the first boot (users, sudo rule, host key, per-instance script)", () => {
    const inside = spawn([process.execPath, "scripts/lab.ts", "exec", "--dir", dir, "lb01", "--", "sh", "-c", "head -1 /etc/sudoers.d/90-cloud-init-users; grep -h '^PasswordAuthentication' /etc/ssh/sshd_config.d/*.conf; ls /etc/ssh | grep host_; test -e /var/lib/cloud/scripts/per-instance/initialize.sh || echo initialize.sh ran; rebootmgrctl get-window"]);
    expect(inside.stdout).toMatch(/^# Created by cloud-init v\. 22\./);
    expect(inside.stdout.split("\n").slice(1)).toEqual([
      "PasswordAuthentication no",
      "ssh_host_ed25519_key",
      "ssh_host_ed25519_key.pub",
      "initialize.sh ran",
      "Maintenance window is set to 17:00, lasting 1h.",
      "",
    ]);
  });

  test("exec runs inside the host (its systemd, its processes) and exits with the command's status", () => {
    const inside = spawn([process.execPath, "scripts/lab.ts", "exec", "--dir", dir, "lb01", "--", "sh", "-c", "hostname; systemctl is-system-running; ps -p 1 -o comm=; exit 7"]);
    expect(inside.code).toBe(7);
    expect(inside.stdout).toBe("lb01\nrunning\nsystemd\n");
  });

  test("nothing reaches the lab range from the root namespace, and the control side has no default route", () => {
    expect(run(["ip", "route", "get", "198.18.40.11"]).stderr + run(["ip", "route", "get", "198.18.40.11"]).stdout).toMatch(/unreachable|No route/i);
    expect(spawn([...exec, "ip", "route", "show", "default"]).stdout).toBe("");
    expect(spawn([...exec, "ip", "route", "get", "192.0.2.1"]).stderr).toContain("unreachable");
  });

  test("keepalived and haproxy are Debian's daemons under real systemd units: the rendered configs bring the VIP up on the spec's NIC", async () => {
    const inLb = (script: string, stdin?: string) => {
      const result = Bun.spawnSync([process.execPath, "scripts/lab.ts", "exec", "--dir", dir, "lb01", "--", "sh", "-c", script], {
        cwd: ROOT,
        stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
        stdout: "pipe",
        stderr: "pipe",
      });
      return { code: result.exitCode, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
    };
    for (const path of ["/etc/keepalived/keepalived.conf", "/etc/haproxy/haproxy.cfg"]) {
      expect(inLb(`cat > ${path}`, readFileSync(join(dir, "render", "lb01", path), "utf8")).code).toBe(0);
    }
    expect(inLb("systemctl start haproxy keepalived && systemctl is-active haproxy keepalived")).toMatchObject({ code: 0, stdout: "active\nactive\n" });
    let vip = "";
    for (let i = 0; i < 100 && !vip.includes("198.18.40.10/24"); i++) {
      await Bun.sleep(100);
      vip = inLb("ip -br -4 address show dev eth7").stdout;
    }
    expect(vip).toContain("198.18.40.10/24");
    // From the control side, haproxy answers on the VIP.
    expect(spawn([...exec, "socat", "-u", "/dev/null", "TCP:198.18.40.10:6443,connect-timeout=2"]).code).toBe(0);
  }, 60_000);

  test("down removes every namespace, process, mount and file of the lab", () => {
    expect(leftovers(dir).length).toBeGreaterThan(0);
    const down = spawn([process.execPath, "scripts/lab.ts", "down", "--dir", dir]);
    expect(down).toEqual({ code: 0, stdout: "", stderr: "" });
    expect(leftovers(dir)).toEqual([]);
  }, 60_000);
});

describe("npm run lab refuses what it cannot build", () => {
  let scratch = "";
  beforeAll(() => (scratch = mkdtempSync(join(tmpdir(), "lab-refuse-"))));
  afterAll(() => scratch !== "" && rmSync(scratch, { recursive: true, force: true }));

  test("addresses outside 198.18.0.0/15: a clear message, non-zero exit, nothing left", () => {
    const dir = join(scratch, "lab");
    writeFileSync(join(scratch, "outside.yaml"), specYaml("10.0.40", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKLtXREF5t41+F54/6SG4y7EyW3dhpCdzdVLhQfUgIol ops@laptop"));
    const result = spawn([process.execPath, "scripts/lab.ts", "up", join(scratch, "outside.yaml"), "--dir", dir], SECRET_ENV);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("10.0.40.0/24 is not inside 198.18.0.0/15");
    expect(result.stderr).not.toContain("    at ");
    expect(leftovers(dir)).toEqual([]);
  }, 30_000);

  test("not root: refused before anything is rendered or created", () => {
    const dir = join(scratch, "lab");
    writeFileSync(join(scratch, "any.yaml"), specYaml("198.18.42", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKLtXREF5t41+F54/6SG4y7EyW3dhpCdzdVLhQfUgIol ops@laptop"));
    const asNobody = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];
    const result = spawn([...asNobody, process.execPath, "scripts/lab.ts", "up", join(scratch, "any.yaml"), "--dir", dir], SECRET_ENV);
    expect(result).toEqual({ code: 1, stdout: "", stderr: "lab: needs root (network namespaces, overlay mounts, systemd-nspawn)\n" });
    expect(existsSync(dir)).toBe(false);
  });

  test("ssh.jumpHost: refused with the reason and what to use instead", () => {
    const dir = join(scratch, "lab");
    writeFileSync(join(scratch, "jump.yaml"), specYaml("198.18.41", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKLtXREF5t41+F54/6SG4y7EyW3dhpCdzdVLhQfUgIol ops@laptop", "\n  jumpHost: ops@198.18.41.5"));
    const result = spawn([process.execPath, "scripts/lab.ts", "up", join(scratch, "jump.yaml"), "--dir", dir], SECRET_ENV);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("ssh.jumpHost is set");
    expect(result.stderr).toContain("test/lab/lab.ts");
    expect(leftovers(dir)).toEqual([]);
  }, 30_000);
});

describe("cloud-init errors on the first boot", () => {
  test("fail up with cloud-init's own message, and nothing is left", async () => {
    const scratch = mkdtempSync(join(tmpdir(), "lab-cloud-init-"));
    const dir = join(scratch, "lab");
    try {
      const hostKey = generateKeyPair(scratch, "broken");
      const userData = `${loginUserData("broken", [{ name: "root", authorizedKeys: [] }], hostKey)}runcmd:\n  - [sh, -c, "exit 3"]\n`;
      const up = labUp(dir, { networks: [{ name: "n", cidr: "198.18.53.0/24" }], hosts: [{ name: "broken", nics: [{ network: "n", ip: "198.18.53.11" }], userData }], control: [] });
      expect(up).rejects.toThrow(/host broken: cloud-init reported errors: .*scripts[-_]user/);
      await up.catch(() => undefined);
      expect(leftovers(dir)).toEqual([]);
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }, 120_000);
});

describe("a jump topology from the library", () => {
  const fixture = useLab("lab-jump", {
    networks: [
      { name: "mgmt", cidr: "198.18.50.0/24" },
      { name: "front", cidr: "198.18.51.0/24" },
      { name: "back", cidr: "198.18.52.0/24" },
    ],
    hosts: [
      { name: "hop-a", nics: [{ network: "mgmt", ip: "198.18.50.11" }, { network: "front", ip: "198.18.51.11" }] },
      { name: "hop-b", nics: [{ network: "front", ip: "198.18.51.12" }, { network: "back", ip: "198.18.52.12", interface: "eth1" }] },
      { name: "target-c", nics: [{ network: "back", ip: "198.18.52.13" }] },
    ],
    control: [{ network: "mgmt" }],
  });
  let lab: Lab;
  let scratch = "";

  beforeAll(() => {
    lab = fixture.lab();
    scratch = fixture.scratch();
    // -J passes no command-line options to the jump hops, a config file it does.
    writeFileSync(
      join(scratch, "ssh_config"),
      `Host *\n  User root\n  IdentityFile ${lab.clientKey}\n  IdentitiesOnly yes\n  UserKnownHostsFile ${lab.knownHosts}\n  GlobalKnownHostsFile /dev/null\n  StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 5\n`,
    );
  });

  const ssh = (...args: string[]) => spawn([...lab.controlExec, "ssh", "-F", join(scratch, "ssh_config"), ...args]);

  test("the control side reaches only the first hop", () => {
    expect(ssh("198.18.50.11", "hostname")).toMatchObject({ code: 0, stdout: "hop-a\n" });
    const direct = ssh("198.18.51.12", "hostname");
    expect(direct.code).toBe(255);
    expect(direct.stderr).toContain("Network is unreachable");
  }, 30_000);

  test("one hop reaches the second host, two hops the third; the NIC names are the ones asked for", () => {
    expect(ssh("-J", "198.18.50.11", "198.18.51.12", "hostname; ip -br link show eth1 | cut -d@ -f1")).toMatchObject({ code: 0, stdout: "hop-b\neth1\n" });
    expect(ssh("-J", "198.18.50.11,198.18.51.12", "198.18.52.13", "hostname")).toMatchObject({ code: 0, stdout: "target-c\n" });
    // hop-a does not forward: the back network stays out of its reach.
    expect(ssh("-J", "198.18.50.11", "198.18.52.13", "true").code).toBe(255);
  }, 30_000);

  test("down leaves nothing behind", async () => {
    await lab.down();
    expect(leftovers(lab.dir)).toEqual([]);
  }, 60_000);
});
