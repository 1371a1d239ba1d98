// The MicroOS stand-ins inside a real lab host: a package that transactional-update installs is
// not usable before the next boot and is after it; the host's reboot really restarts it (sshd
// goes away and comes back); rebootmgrctl, semanage, getenforce and rpm keep the state the real
// ones keep; every call lands in the call log.
import { beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { useLab } from "./fixture.ts";
import type { Lab } from "./lab.ts";

// Every step starts processes in and around real hosts; on a loaded machine that takes seconds.
setDefaultTimeout(30_000);

const HOST = "micro01";
const IP = "198.18.60.11";
const fixture = useLab("lab-standins", {
  networks: [{ name: "cluster", cidr: "198.18.60.0/24", gateway: "198.18.60.1" }],
  hosts: [{ name: HOST, nics: [{ network: "cluster", ip: IP }] }],
  control: [{ network: "cluster" }],
});
let lab: Lab;
beforeAll(() => (lab = fixture.lab()));

/** sh -c SCRIPT inside the host. */
async function sh(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return lab.exec(HOST, ["sh", "-c", script]);
}

/** One TCP connection attempt to the host's sshd from the control side; true when the SSH banner arrives. */
async function sshAnswers(): Promise<boolean> {
  const probe = await lab.control(["timeout", "2", "socat", "-T1", "-u", `TCP:${IP}:22,connect-timeout=1`, "STDOUT"]);
  return probe.stdout.startsWith("SSH-2.0-");
}

/** Reboots from inside and watches the host from the control side meanwhile. */
async function rebootWatched(): Promise<{ wentAway: boolean; cameBack: boolean; initBefore?: number; initAfter?: number }> {
  const initBefore = lab.initPid(HOST);
  expect(await sshAnswers()).toBe(true);
  const reboot = lab.reboot(HOST);
  let wentAway = false;
  let done = false;
  void reboot.finally(() => (done = true));
  while (!done) {
    if (!(await sshAnswers())) wentAway = true;
    await Bun.sleep(50);
  }
  await reboot;
  return { wentAway, cameBack: await sshAnswers(), initBefore, initAfter: lab.initPid(HOST) };
}

describe("transactional-update and the reboot", () => {
  test("a package installed is not usable before the reboot; the reboot restarts the host (sshd goes away and comes back); then it is", async () => {
    const install = await sh("transactional-update --non-interactive pkg install qemu-guest-agent");
    expect(install.code).toBe(0);
    expect(install.stdout).toContain("Please reboot");
    const before = await sh("cat /run/reboot-needed; rpm -q qemu-guest-agent; echo rpm=$?; systemctl start qemu-guest-agent; echo start=$?");
    expect(before.stdout).toBe("reboot\npackage qemu-guest-agent is not installed\nrpm=1\nstart=5\n");
    const bootsBefore = lab.boots(HOST);

    const reboot = await rebootWatched();
    expect(reboot.wentAway).toBe(true);
    expect(reboot.cameBack).toBe(true);
    expect(reboot.initAfter).not.toBe(reboot.initBefore);
    expect(lab.boots(HOST)).toBe(bootsBefore + 1);

    const after = await sh("test -e /run/reboot-needed && echo still-needed; rpm -q qemu-guest-agent; systemctl start qemu-guest-agent && systemctl is-active qemu-guest-agent");
    expect(after).toEqual({ code: 0, stdout: "qemu-guest-agent-9.1.0-1\nactive\n", stderr: "" });
  }, 120_000);

  test("a second call without --continue discards the first snapshot; with --continue it builds on it", async () => {
    await sh("transactional-update -n pkg install chrony && transactional-update -n pkg install rke2-selinux");
    expect((await sh("cat /var/lib/starbase-lab/packages.json")).stdout).not.toContain('"chrony"');
    await sh("transactional-update -n pkg install chrony && transactional-update -n --continue pkg install rke2-selinux");
    await lab.reboot(HOST);
    const after = await sh("rpm -q chrony rke2-selinux");
    expect(after).toEqual({ code: 0, stdout: "chrony-4.6-1\nrke2-selinux-0.20-1\n", stderr: "" });
  }, 120_000);

  test("versions and requirements: NAME=VERSION pins, requirements come along, an unknown one fails and changes nothing", async () => {
    const unknown = await sh("transactional-update -n pkg install rke2-server=9.9.9+rke2r1; echo rc=$?; test -e /var/lib/starbase-lab/packages.json && grep -c pending /var/lib/starbase-lab/packages.json");
    expect(unknown.stdout).toBe("Calling zypper install rke2-server=9.9.9+rke2r1 (starbase lab catalogue)\nrc=1\n0\n");
    expect(unknown.stderr).toContain("No provider of 'rke2-server=9.9.9+rke2r1' found.");
    expect((await sh("transactional-update -n pkg install rke2-agent=1.33.5~rke2r1")).code).toBe(0);
    await lab.reboot(HOST);
    expect((await sh("rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' rke2-agent rke2-common")).stdout).toBe("rke2-agent 1.33.5~rke2r1-0\nrke2-common 1.33.5~rke2r1-0\n");
    // An update takes it to the newest the catalogue has, again only after the reboot.
    expect((await sh("transactional-update -n up")).code).toBe(0);
    expect((await sh("rpm -q --qf '%{VERSION}\\n' rke2-agent")).stdout).toBe("1.33.5~rke2r1\n");
    await lab.reboot(HOST);
    expect((await sh("rpm -q --qf '%{VERSION}\\n' rke2-agent")).stdout).toBe("1.34.1~rke2r1\n");
  }, 120_000);

  test("--drop-if-no-change: nothing to install, no snapshot, no reboot needed", async () => {
    const again = await sh("transactional-update -n -d pkg install chrony; test -e /run/reboot-needed && echo needed; grep -c pending /var/lib/starbase-lab/packages.json");
    expect(again.stdout).toBe("Calling zypper install chrony (starbase lab catalogue)\nNothing to do. No new snapshot.\n0\n");
  });

  test("reboot follows REBOOT_METHOD: kured only leaves /run/reboot-required", async () => {
    const boots = lab.boots(HOST);
    const kured = await sh("echo REBOOT_METHOD=kured > /etc/transactional-update.conf && transactional-update -n pkg install haproxy && transactional-update reboot; echo rc=$?; test -e /run/reboot-required && echo required");
    expect(kured.stdout).toContain("rc=0\nrequired\n");
    await Bun.sleep(500);
    expect(lab.boots(HOST)).toBe(boots);
    expect(lab.sshListening(HOST)).toBe(true);
  });
});

describe("rebootmgrctl", () => {
  test("window and strategy are kept where rebootmgr 3 keeps them; a bad strategy is refused", async () => {
    const set = await sh("rebootmgrctl set-window 17:15 1h30m && rebootmgrctl set-strategy maint-window && rebootmgrctl get-window && rebootmgrctl get-strategy && cat /etc/rebootmgr/rebootmgr.conf.d/50-maintenance-window.conf");
    expect(set.stdout).toBe("Maintenance window is set to 17:15, lasting 1h30m.\nReboot strategy: maint-window\n[rebootmgr]\nwindow-start=17:15\nwindow-duration=1h30m\n");
    const bad = await sh("rebootmgrctl set-strategy sometimes; echo rc=$?; rebootmgrctl get-strategy");
    expect(bad.stdout).toBe("rc=1\nReboot strategy: maint-window\n");
  });

  test("reboot outside the window waits (status --quiet exits 2) and the host keeps running; cancel clears it", async () => {
    const hour = (new Date().getUTCHours() + 12) % 24;
    const boots = lab.boots(HOST);
    const waiting = await sh(`rebootmgrctl set-window ${String(hour).padStart(2, "0")}:00 1h && rebootmgrctl reboot; rebootmgrctl status --quiet; echo status=$?`);
    expect(waiting.stdout).toBe("status=2\n");
    await Bun.sleep(500);
    expect(lab.boots(HOST)).toBe(boots);
    expect((await sh("rebootmgrctl cancel; rebootmgrctl status --quiet; echo status=$?")).stdout).toBe("status=0\n");
  });
});

describe("SELinux stand-ins", () => {
  test("getenforce says Enforcing; semanage port follows semanage's rules for add, modify and delete", async () => {
    const run = await sh(
      [
        "getenforce",
        "semanage port -a -t http_port_t -p tcp 6443; echo add=$?",
        "semanage port -a -t http_port_t -p tcp 6443 2>&1; echo again=$?",
        "semanage port -m -t http_port_t -p tcp 9345 2>&1; echo modify-undefined=$?",
        "semanage port -a -t http_port_t -p tcp 9345; echo add=$?",
        "semanage port -d -p tcp 80 2>&1; echo delete-policy=$?",
        "semanage port -l -C -n",
      ].join("; "),
    );
    expect(run.stdout).toBe(
      [
        "Enforcing",
        "add=0",
        "ValueError: Port tcp/6443 already defined",
        "again=1",
        "ValueError: Port tcp/9345 is not defined",
        "modify-undefined=1",
        "add=0",
        "ValueError: Port tcp/80 is defined in policy, cannot be deleted",
        "delete-policy=1",
        `${"http_port_t".padEnd(31)}${"tcp".padEnd(9)}6443, 9345`,
        "",
      ].join("\n"),
    );
  });
});

test("every stand-in call is in the call log with its arguments and exit status", async () => {
  const log = (await sh("cat /var/log/starbase-lab/calls.jsonl")).stdout
    .trim()
    .split("\n")
    .map((line) => JSON.parse(line) as { tool: string; args: string[]; exit: number });
  expect(log).toContainEqual(expect.objectContaining({ tool: "transactional-update", args: ["--non-interactive", "pkg", "install", "qemu-guest-agent"], exit: 0 }));
  expect(log).toContainEqual(expect.objectContaining({ tool: "transactional-update", args: ["-n", "pkg", "install", "rke2-server=9.9.9+rke2r1"], exit: 1 }));
  expect(log).toContainEqual(expect.objectContaining({ tool: "rebootmgrctl", args: ["set-strategy", "sometimes"], exit: 1 }));
  expect(log).toContainEqual(expect.objectContaining({ tool: "semanage", args: ["port", "-a", "-t", "http_port_t", "-p", "tcp", "6443"], exit: 1 }));
});
