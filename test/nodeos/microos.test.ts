import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FactsParseError, type FactsQuery, nodeOsFor } from "../../src/nodeos/index.ts";
import { microos } from "../../src/nodeos/microos.ts";
import { shellQuote } from "../../src/nodeos/shell.ts";
import { makeScratch, removeScratch, runTool } from "../render/tools.ts";

let scratch: string;
beforeAll(() => {
  scratch = makeScratch("nodeos");
});
afterAll(() => removeScratch(scratch));

const QUERY: FactsQuery = {
  files: ["/etc/keepalived/keepalived.conf", "/etc/starbase-nodeos-test/haproxy.cfg", "/etc/rancher/rke2/config.yaml"],
  exists: ["/var/lib/rancher/rke2/server/node-token", "/etc/rancher/rke2"],
  units: ["keepalived.service", "rke2-server.service"],
  packages: ["keepalived", "rke2-server"],
  selinuxPorts: [6443, 9345],
};

/** What the real tools print, as stubs on PATH (formats: systemctl show, rpm -q, getenforce, semanage port -l). */
const STUBS: Record<string, string> = {
  systemctl: `#!/bin/sh
[ "$1" = show ] || exit 1
eval "u=\\\${$#}"
case "$u" in
  keepalived.service) printf 'LoadState=loaded\\nActiveState=active\\nUnitFileState=enabled\\nActiveEnterTimestampMonotonic=81234567\\n';;
  *) printf 'LoadState=not-found\\nActiveState=inactive\\nUnitFileState=\\nActiveEnterTimestampMonotonic=0\\n';;
esac
`,
  rpm: `#!/bin/sh
eval "n=\\\${$#}"
if [ "$n" = keepalived ]; then printf '2.3.1-1.4'; exit 0; fi
echo "package $n is not installed"; exit 1
`,
  getenforce: "#!/bin/sh\necho Enforcing\n",
  semanage: `#!/bin/sh
cat <<'OUT'
SELinux Port Type              Proto    Port Number

afs3_callback_port_t           tcp      7001
http_port_t                    tcp      6443, 80, 81, 443, 488, 8008, 8009, 8443, 9000
http_port_t                    udp      80, 443
kubernetes_port_t              tcp      10250
OUT
`,
};

interface Scene {
  /** Files under /etc (relative) with content and mode. */
  etc: Record<string, { content: string; mode: number }>;
  runFiles?: string[];
  stubs?: Record<string, string>;
}

/**
 * Runs the facts script for real with sh, sha256sum and stat in a private mount namespace whose
 * /etc is an overlay and /run a tmpfs; the distribution's tools are stubs on PATH.
 */
function runFacts(label: string, query: FactsQuery, scene: Scene) {
  const root = join(scratch, label);
  const upper = join(root, "upper");
  const bin = join(root, "bin");
  for (const dir of [upper, join(root, "work"), bin]) mkdirSync(dir, { recursive: true });
  for (const [name, body] of Object.entries(scene.stubs ?? STUBS)) {
    writeFileSync(join(bin, name), body);
    chmodSync(join(bin, name), 0o755);
  }
  const setup = [`mount -t overlay overlay -o lowerdir=/etc,upperdir=${upper},workdir=${join(root, "work")} /etc`, "mount -t tmpfs tmpfs /run"];
  for (const [path, file] of Object.entries(scene.etc)) {
    setup.push(`mkdir -p ${shellQuote(join("/etc", path, ".."))}`, `printf %s ${shellQuote(file.content)} > ${shellQuote(join("/etc", path))}`);
    setup.push(`chmod ${file.mode.toString(8)} ${shellQuote(join("/etc", path))}`);
  }
  for (const path of scene.runFiles ?? []) setup.push(`touch ${shellQuote(path)}`);
  const script = join(root, "facts.sh");
  writeFileSync(script, microos.factsScript(query));
  const result = runTool(["unshare", "--mount", "--propagation", "private", "sh", "-c", `${setup.join(" && ")} && sh "$0"`, script], {
    env: { PATH: `${bin}:/usr/bin:/bin:/usr/sbin:/sbin` },
  });
  return result;
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

describe("MicroOS facts: one script, one round trip", () => {
  test("files are hashed with their mode and owner; missing ones are null; units, packages, SELinux and ports are read", () => {
    const keepalived = "vrrp_instance VI_1 {\n}\n";
    const run = runFacts("full", QUERY, {
      etc: {
        "keepalived/keepalived.conf": { content: keepalived, mode: 0o600 },
        "rancher/rke2/config.yaml": { content: "token: x\n", mode: 0o640 },
        "rebootmgr/rebootmgr.conf": { content: "[rebootmgr]\nwindow-start=03:30\nwindow-duration=1h30m\nstrategy=best-effort\n", mode: 0o644 },
        "rebootmgr/rebootmgr.conf.d/50-maintenance-window.conf": { content: "[rebootmgr]\nwindow-start=17:15\nwindow-duration=1h\n", mode: 0o644 },
        "transactional-update.conf": { content: "UPDATE_METHOD=up\nREBOOT_METHOD=rebootmgr\n", mode: 0o644 },
        // libzypp's lock file as `zypper addlock` writes it; a glob lock names no package.
        "zypp/locks": { content: "type: package\nmatch_type: exact\ncase_sensitive: on\nsolvable_name: rke2-server\n\ntype: package\nmatch_type: glob\nsolvable_name: kernel-*\n\nsolvable_name: rke2-common  \n", mode: 0o644 },
      },
      runFiles: ["/run/reboot-needed"],
    });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const facts = microos.parseFacts(QUERY, run.stdout);
    expect(facts.os.id).not.toBe("");
    expect(facts.files.get("/etc/keepalived/keepalived.conf")).toEqual({ sha256: sha256(keepalived), mode: 0o600, owner: "root:root" });
    expect(facts.files.get("/etc/rancher/rke2/config.yaml")?.mode).toBe(0o640);
    expect(facts.files.get("/etc/starbase-nodeos-test/haproxy.cfg") ?? null).toBeNull();
    expect(facts.exists.get("/etc/rancher/rke2")).toBe(true);
    expect(facts.exists.get("/var/lib/rancher/rke2/server/node-token")).toBe(false);
    expect(facts.units.get("keepalived.service")).toEqual({ load: "loaded", active: "active", enabled: "enabled", activeSince: 81234567 });
    expect(facts.units.get("rke2-server.service")).toEqual({ load: "not-found", active: "inactive", enabled: "", activeSince: 0 });
    expect(facts.packages.get("keepalived")).toBe("2.3.1-1.4");
    expect(facts.packages.get("rke2-server")).toBeNull();
    expect([...facts.lockedPackages]).toEqual(["rke2-server", "kernel-*", "rke2-common"]);
    expect(facts.selinux).toBe("enforcing");
    expect(facts.selinuxPorts.get(6443)).toBe("http_port_t");
    expect(facts.selinuxPorts.get(9345)).toBeNull();
    // The drop-in rebootmgrctl set-window writes wins over the main file.
    expect(facts.rebootWindow).toEqual({ start: "17:15", duration: "1h" });
    expect(facts.rebootStrategy).toBe("best-effort");
    expect(facts.rebootMethod).toBe("rebootmgr");
    expect(facts.rebootNeeded).toBe(true);
  });

  test("a node without SELinux tools, rebootmgr configuration or pending reboot reads as such", () => {
    const query: FactsQuery = { files: [], exists: [], units: [], packages: [], selinuxPorts: [6443] };
    const stubs = { systemctl: STUBS.systemctl as string };
    const run = runFacts("bare", query, { etc: {}, stubs });
    expect(run.code).toBe(0);
    const facts = microos.parseFacts(query, run.stdout);
    expect(facts.selinux).toBe("disabled");
    expect(facts.selinuxPorts.get(6443)).toBeNull();
    // The mode is read only with ports to label: no getenforce otherwise.
    const noPorts = { ...query, selinuxPorts: [] };
    expect(microos.factsScript(noPorts)).not.toContain("getenforce");
    expect(microos.parseFacts(noPorts, runFacts("bare-no-ports", noPorts, { etc: {}, stubs }).stdout).selinux).toBeNull();
    expect(facts.rebootWindow).toBeNull();
    expect(facts.rebootStrategy).toBeNull();
    expect(facts.rebootNeeded).toBe(false);
    expect(facts.lockedPackages.size).toBe(0);
  });

  test("addresses: the interface that holds each asked address, null when none does; a listing that did not run is an error", () => {
    const query: FactsQuery = { files: [], exists: [], units: [], packages: [], selinuxPorts: [], addresses: ["127.0.0.1", "198.18.255.254"] };
    const run = runFacts("addresses", query, { etc: {} });
    expect(run.code).toBe(0);
    const facts = microos.parseFacts(query, run.stdout);
    expect([...facts.addresses]).toEqual([["127.0.0.1", "lo"], ["198.18.255.254", null]]);
    const unlisted = run.stdout.split("\n").filter((line) => line !== "addresses" && !line.startsWith("addr\t")).join("\n");
    expect(() => microos.parseFacts(query, unlisted)).toThrow("did not list its addresses");
    // Not asked: not listed, and the map is empty.
    expect(microos.factsScript({ ...query, addresses: [] })).not.toContain("ip -o");
  });

  test("paths with spaces and quotes are hashed, not split or run", () => {
    const odd = "/etc/starbase test/it's here.conf";
    const query: FactsQuery = { files: [odd], exists: [], units: [], packages: [], selinuxPorts: [] };
    const run = runFacts("odd", query, { etc: { "starbase test/it's here.conf": { content: "a\tb\n", mode: 0o600 } } });
    expect(microos.parseFacts(query, run.stdout).files.get(odd)?.sha256).toBe(sha256("a\tb\n"));
  });

  test("output cut short, a missing answer or a garbled record is an error, never a fact", () => {
    const run = runFacts("cut", QUERY, { etc: {} });
    const full = run.stdout;
    expect(() => microos.parseFacts(QUERY, full.slice(0, full.length - 10))).toThrow(FactsParseError);
    const withoutUnit = full
      .split("\n")
      .filter((line) => !line.startsWith("unit\trke2-server.service"))
      .join("\n");
    expect(() => microos.parseFacts(QUERY, withoutUnit)).toThrow("systemd said nothing about rke2-server.service");
    const garbled = full.replace(/^file\t\/etc\/starbase-nodeos-test\/haproxy.cfg\t-$/m, "file\t/etc/starbase-nodeos-test/haproxy.cfg\tzz\t644 root:root");
    expect(() => microos.parseFacts(QUERY, garbled)).toThrow("unreadable file fact");
    // A present file answers twice (stat, sha256sum): one answer alone is no fact.
    const withFile = runFacts("cut-file", QUERY, { etc: { "starbase-nodeos-test/haproxy.cfg": { content: "x\n", mode: 0o600 } } }).stdout;
    expect(microos.parseFacts(QUERY, withFile).files.get("/etc/starbase-nodeos-test/haproxy.cfg")).toEqual({ sha256: sha256("x\n"), mode: 0o600, owner: "root:root" });
    const path = "/etc/starbase-nodeos-test/haproxy.cfg";
    const hashOnly = withFile.split("\n").filter((line) => !line.startsWith(`filemode\t${path}\t`)).join("\n");
    expect(() => microos.parseFacts(QUERY, hashOnly)).toThrow(`no fact for file ${path}`);
    const badHash = withFile.replace(/^filehash\t(\S+)\t[0-9a-f]+$/m, "filehash\t$1\tnot-a-hash");
    expect(() => microos.parseFacts(QUERY, badHash)).toThrow("unreadable file fact");
  });

  test("queries that could break the script are refused before any text is made", () => {
    const base: FactsQuery = { files: [], exists: [], units: [], packages: [], selinuxPorts: [] };
    expect(() => microos.factsScript({ ...base, files: ["relative/path"] })).toThrow("absolute path");
    expect(() => microos.factsScript({ ...base, files: ["/etc/a\nb"] })).toThrow("control characters");
    expect(() => microos.factsScript({ ...base, files: ["/etc/a\\b"] })).toThrow("backslashes");
    expect(() => microos.factsScript({ ...base, units: ["x; reboot"] })).toThrow("not a systemd unit name");
    expect(() => microos.factsScript({ ...base, packages: ["$(reboot)"] })).toThrow("not a package name");
    expect(() => microos.factsScript({ ...base, selinuxPorts: [70000] })).toThrow("not a TCP port");
  });
});

describe("MicroOS commands", () => {
  test("packages go through a transactional snapshot, non-interactively", () => {
    expect(microos.installPackages(["rke2-server=1.33.5~rke2r1", "rke2-selinux"])).toBe(
      "transactional-update --non-interactive pkg install 'rke2-server=1.33.5~rke2r1' rke2-selinux",
    );
    expect(microos.packagesNeedReboot).toBe(true);
    // A new repository's key: zypper's global option, so through `run zypper` in the snapshot.
    expect(microos.installPackages(["rke2-agent=1.33.5~rke2r1"], { importNewKeys: true })).toBe(
      "transactional-update --non-interactive run zypper --non-interactive --gpg-auto-import-keys install -y 'rke2-agent=1.33.5~rke2r1'",
    );
  });

  test("package locks through zypper (its lock file is in /etc, read by every later transaction); repositories as zypper .repo files", () => {
    expect(microos.lockPackages(["rke2-server", "rke2-common"])).toBe("zypper --non-interactive --quiet addlock rke2-server rke2-common");
    expect(microos.unlockPackages(["rke2-agent"])).toBe("zypper --non-interactive --quiet removelock rke2-agent");
    expect(() => microos.lockPackages(["x; reboot"])).toThrow("not a package name");
    const file = microos.packageRepositoryFile("rancher-rke2", [
      { id: "a", name: "A (stable)", baseUrl: "https://example.test/a", gpgKey: "https://example.test/key" },
      { id: "b", name: "B", baseUrl: "https://example.test/b", gpgKey: "https://example.test/key" },
    ]);
    expect(file.path).toBe("/etc/zypp/repos.d/rancher-rke2.repo");
    expect(file.content).toBe(
      "[a]\nname=A (stable)\nbaseurl=https://example.test/a\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=https://example.test/key\n\n"
        + "[b]\nname=B\nbaseurl=https://example.test/b\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey=https://example.test/key\n",
    );
  });

  test("units: RKE2 is started without blocking on its readiness; haproxy is reloaded, not restarted", () => {
    expect(microos.startUnit("rke2-server.service")).toBe("systemctl start --no-block rke2-server.service");
    expect(microos.reloadUnit("haproxy.service")).toBe("systemctl reload haproxy.service");
    expect(microos.disableUnit("rebootmgr.service", { now: true })).toBe("systemctl disable --now rebootmgr.service");
  });

  test("SELinux port labels fall back from add to modify, and run for real against semanage's exit codes", () => {
    const text = microos.labelPorts([6443, 9345], "http_port_t");
    expect(text.split("\n")).toHaveLength(2);
    const root = join(scratch, "label");
    mkdirSync(root, { recursive: true });
    const log = join(root, "calls");
    // semanage -a fails for a port that already has a type, as the real one does.
    writeFileSync(join(root, "semanage"), `#!/bin/sh\necho "$*" >> ${log}\n[ "$2" = -a ] && [ "$7" = 6443 ] && exit 1\nexit 0\n`);
    chmodSync(join(root, "semanage"), 0o755);
    const run = runTool(["sh", "-ec", text], { env: { PATH: `${root}:/usr/bin:/bin` } });
    expect(run.code).toBe(0);
    expect(runTool(["cat", log]).stdout.trim().split("\n")).toEqual([
      "port -a -t http_port_t -p tcp 6443",
      "port -m -t http_port_t -p tcp 6443",
      "port -a -t http_port_t -p tcp 9345",
    ]);
  });

  test("config checks: haproxy -c, keepalived -t on the given file; a missing file fails although keepalived -t would pass it", () => {
    expect(microos.checkConfig("haproxy", "/etc/haproxy/.haproxy.cfg.starbase-new")).toBe("haproxy -c -f /etc/haproxy/.haproxy.cfg.starbase-new 2>&1");
    const root = join(scratch, "check");
    mkdirSync(root, { recursive: true });
    // keepalived -t exits 0 for a file that does not exist (ops-facts §3.3): the stub does the same.
    writeFileSync(join(root, "keepalived"), "#!/bin/sh\necho \"keepalived $*\"\nexit 0\n");
    chmodSync(join(root, "keepalived"), 0o755);
    const present = join(root, "it's.conf");
    writeFileSync(present, "global_defs {}\n");
    const env = { env: { PATH: `${root}:/usr/bin:/bin` } };
    expect(runTool(["sh", "-c", microos.checkConfig("keepalived", present)], env)).toMatchObject({ code: 0, stdout: `keepalived -t -l -n -f ${present}\n` });
    const missing = runTool(["sh", "-c", microos.checkConfig("keepalived", join(root, "missing.conf"))], env);
    expect(missing).toMatchObject({ code: 1, stdout: `${join(root, "missing.conf")}: no such file\n` });
  });

  test("the adapter is picked from os-release; unknown systems get none", () => {
    expect(nodeOsFor({ id: "opensuse-microos", idLike: ["suse", "opensuse", "opensuse-tumbleweed"] })?.name).toBe("microos");
    expect(nodeOsFor({ id: "debian", idLike: [] })).toBeUndefined();
  });

  test("kured reboots through transactional-update's kured method and its default sentinel", () => {
    expect(microos.kuredSentinel).toBe("/var/run/reboot-required");
    expect(microos.rebootSetup({ method: "kured" })).toContain("REBOOT_METHOD=kured");
  });
});
