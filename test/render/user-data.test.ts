import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { Host, Inventory } from "../../src/inventory/types.ts";
import { hostKey, renderHost } from "../../src/render/index.ts";
import { INITIALIZE_SCRIPT_PATH } from "../../src/render/user-data.ts";
import { hostNamed, INVENTORIES, OPS_KEY, SECRETS } from "./fixtures.ts";
import { makeScratch, removeScratch, runTool } from "./tools.ts";

let scratch: string;
beforeAll(() => {
  scratch = makeScratch("userdata");
});
afterAll(() => removeScratch(scratch));

interface CloudConfig {
  hostname: string;
  fqdn: string;
  prefer_fqdn_over_hostname: boolean;
  users: { name: string; sudo?: string; lock_passwd?: boolean; ssh_authorized_keys: string[] }[];
  disable_root?: boolean;
  ssh_keys: { ed25519_private: string; ed25519_public: string };
  ssh_deletekeys: boolean;
  ssh_genkeytypes: string[];
  package_update: boolean;
  package_upgrade: boolean;
  package_reboot_if_required: boolean;
  packages?: string[];
  write_files: { path: string; permissions: string; content: string }[];
}

function userDataText(inv: Inventory, host: Host): string {
  const file = renderHost(inv, host, SECRETS).find((f) => f.path === "user-data");
  if (file === undefined) throw new Error(`${host.name} has no user-data`);
  return file.content;
}

function userData(inv: Inventory, host: Host): CloudConfig {
  return parse(userDataText(inv, host)) as CloudConfig;
}

function initializeScript(inv: Inventory, host: Host): string {
  const file = userData(inv, host).write_files.find((f) => f.path === INITIALIZE_SCRIPT_PATH);
  if (file === undefined) throw new Error(`${host.name} writes no initialize.sh`);
  return file.content;
}

function cloudInitSchema(name: string, content: string) {
  const path = join(scratch, name);
  writeFileSync(path, content);
  // python3 on PATH is pyenv's, without cloudinit: use the system entry point.
  return runTool(["/usr/bin/cloud-init", "schema", "--config-file", path]);
}

describe("user-data", () => {
  for (const { label, inv } of INVENTORIES) {
    for (const host of inv.hosts) {
      test(`${label}/${host.name} passes cloud-init schema`, () => {
        const result = cloudInitSchema(`${label}-${host.name}.yaml`, userDataText(inv, host));
        expect(result.stdout).toContain("Valid cloud-config");
        expect(result.code).toBe(0);
      });
    }
  }

  test("cloud-init schema rejects a broken render", () => {
    const inv = INVENTORIES[0]!.inv;
    const broken = userDataText(inv, hostNamed(inv, "server01")).replace("package_update: true", "package_update: maybe");
    expect(cloudInitSchema("broken.yaml", broken).code).not.toBe(0);
  });

  test("short hostname, FQDN, no FQDN preference, packages updated with reboot", () => {
    const inv = INVENTORIES[0]!.inv;
    const host = hostNamed(inv, "agent02");
    const config = userData(inv, host);
    expect(userDataText(inv, host).startsWith("#cloud-config\n")).toBe(true);
    expect(config.hostname).toBe("agent02");
    expect(config.fqdn).toBe("agent02.lan");
    expect(config.prefer_fqdn_over_hostname).toBe(false);
    expect(config.package_update).toBe(true);
    expect(config.package_upgrade).toBe(true);
    expect(config.package_reboot_if_required).toBe(true);
    expect(config.packages).toEqual(host.packages);
    expect(config.packages).toContain("open-iscsi");
  });

  test("root login: root gets the keys, no default user, no password", () => {
    const inv = INVENTORIES[0]!.inv;
    const config = userData(inv, hostNamed(inv, "lb01"));
    expect(config.users).toEqual([{ name: "root", lock_passwd: true, ssh_authorized_keys: [OPS_KEY] }]);
    expect(config.disable_root).toBe(false);
    expect(userDataText(inv, hostNamed(inv, "lb01"))).not.toMatch(/^\s*(- )?(passwd|hashed_passwd|plain_text_passwd|chpasswd):/m);
  });

  test("non-root login: one user with the keys and a sudo rule", () => {
    const inv = INVENTORIES[1]!.inv;
    const config = userData(inv, hostNamed(inv, "server02"));
    expect(config.users).toHaveLength(1);
    expect(config.users[0]?.name).toBe("ops");
    expect(config.users[0]?.sudo).toBe("ALL=(ALL) NOPASSWD:ALL");
    expect(config.users[0]?.ssh_authorized_keys).toEqual([OPS_KEY]);
    expect(config.users.some((u) => (u as unknown) === "default")).toBe(false);
    expect(config.disable_root).toBeUndefined();
  });

  test("the host key is the one starbase derives, and no other is kept or generated", () => {
    const inv = INVENTORIES[0]!.inv;
    for (const host of inv.hosts) {
      const config = userData(inv, host);
      const expected = hostKey(SECRETS.hostKeySecret, inv.spec.name, host.name);
      expect(config.ssh_keys).toEqual({ ed25519_private: expected.privateKey, ed25519_public: expected.publicKey });
      expect(config.ssh_deletekeys).toBe(true);
      expect(config.ssh_genkeytypes).toEqual(["ed25519"]);
    }
  });

  test("initialize.sh is written 0755 to the per-instance scripts directory", () => {
    const inv = INVENTORIES[0]!.inv;
    const files = userData(inv, hostNamed(inv, "server01")).write_files;
    expect(files).toHaveLength(1);
    expect(files[0]?.path).toBe("/var/lib/cloud/scripts/per-instance/initialize.sh");
    expect(files[0]?.permissions).toBe("0755");
  });

  test("initialize.sh has no template debris and stops on the first error", () => {
    for (const { inv } of INVENTORIES) {
      for (const host of inv.hosts) {
        const script = initializeScript(inv, host);
        expect(script.startsWith("#!/bin/sh\n")).toBe(true);
        expect(script).toContain("\nset -eu\n");
        expect(script).not.toMatch(/^\s*%\s*$/m);
        expect(script).not.toMatch(/\{\{|\}\}/);
        expect(script).not.toContain("chmod 644 /etc/cloud/cloud.cfg.d/90_enable_pkg_update.cfg");
        expect(runTool(["sh", "-n", "-c", script]).code).toBe(0);
      }
    }
  });

  test("load balancers: rebootmgr window and strategy; RKE2 nodes: rebootmgr disabled, kured reboots", () => {
    const inv = INVENTORIES[0]!.inv;
    const lb = hostNamed(inv, "lb02");
    const lbScript = initializeScript(inv, lb);
    expect(lbScript).toContain(`rebootmgrctl set-window ${lb.rebootWindow.start} ${lb.rebootWindow.duration}\n`);
    expect(lbScript).toContain("rebootmgrctl set-strategy best-effort\n");
    expect(lbScript).not.toContain("disable --now rebootmgr");
    expect(lbScript).not.toContain("REBOOT_METHOD=kured");
    expect(lbScript).not.toContain("unmanaged-devices");
    for (const host of [...inv.servers, ...inv.agents]) {
      const script = initializeScript(inv, host);
      expect(script).toContain("systemctl disable --now rebootmgr.service");
      expect(script).toContain("REBOOT_METHOD=kured");
      expect(script).not.toContain("rebootmgrctl");
      expect(script).toContain("unmanaged-devices=");
    }
  });
});

/**
 * Runs a rendered initialize.sh for real: in a private mount namespace, /etc is an overlay whose
 * writes land in a scratch directory, and systemctl/rebootmgrctl are stubs that log their
 * arguments. The host's own /etc never changes.
 */
function runInitialize(label: string, script: string, options: { rebootmgrInstalled: boolean; failRebootmgrctl?: boolean; existingConf?: string }) {
  const root = join(scratch, `run-${label}`);
  const upper = join(root, "upper");
  const bin = join(root, "bin");
  for (const dir of [upper, join(root, "work"), bin]) mkdirSync(dir, { recursive: true });
  const log = join(root, "calls.log");
  writeFileSync(log, "");
  writeFileSync(
    join(bin, "systemctl"),
    `#!/bin/sh\necho "systemctl $*" >> "${log}"\n[ "$1" = cat ] && exit ${options.rebootmgrInstalled ? 0 : 1}\nexit 0\n`,
  );
  writeFileSync(join(bin, "rebootmgrctl"), `#!/bin/sh\necho "rebootmgrctl $*" >> "${log}"\nexit ${options.failRebootmgrctl ? 3 : 0}\n`);
  for (const tool of ["systemctl", "rebootmgrctl"]) chmodSync(join(bin, tool), 0o755);
  if (options.existingConf !== undefined) writeFileSync(join(upper, "transactional-update.conf"), options.existingConf);
  const scriptPath = join(root, "initialize.sh");
  writeFileSync(scriptPath, script, { mode: 0o755 });
  const mountEtc = `mount -t overlay overlay -o lowerdir=/etc,upperdir=${upper},workdir=${join(root, "work")} /etc`;
  const result = runTool(["unshare", "--mount", "--propagation", "private", "sh", "-c", `${mountEtc} && "$0"`, scriptPath], {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` } as Record<string, string>,
  });
  const read = (path: string) => (existsSync(join(upper, path)) ? readFileSync(join(upper, path), "utf8") : undefined);
  return {
    result,
    calls: readFileSync(log, "utf8").trim().split("\n").filter((l) => l !== ""),
    read,
    scriptLeft: existsSync(scriptPath),
  };
}

describe("initialize.sh run for real", () => {
  const inv = INVENTORIES[0]!.inv;

  test("on a server: growpart off, CNI interfaces unmanaged, REBOOT_METHOD=kured, rebootmgr off, self-removed", () => {
    const run = runInitialize("server", initializeScript(inv, hostNamed(inv, "server02")), { rebootmgrInstalled: true });
    expect(run.result.stderr).toBe("");
    expect(run.result.code).toBe(0);
    expect(run.read("transactional-update.conf")).toBe("REBOOT_METHOD=kured\n");
    expect(run.read("NetworkManager/conf.d/rke2-canal.conf")).toContain(
      "unmanaged-devices=interface-name:flannel*;interface-name:cali*;interface-name:tunl*;interface-name:vxlan.calico;interface-name:vxlan-v6.calico;interface-name:wireguard.cali;interface-name:wg-v6.cali\n",
    );
    expect(run.calls).toEqual(["systemctl cat rebootmgr.service", "systemctl disable --now rebootmgr.service"]);
    expect(run.scriptLeft).toBe(false);

    // The drop-in it leaves for later boots is itself valid cloud-config that turns growing off.
    const dropIn = run.read("cloud/cloud.cfg.d/90-starbase-no-grow.cfg");
    expect(parse(dropIn ?? "")).toEqual({ growpart: { mode: "off" }, resize_rootfs: false });
    expect(cloudInitSchema("no-grow.cfg", `#cloud-config\n${dropIn}`).code).toBe(0);
  });

  test("an existing REBOOT_METHOD line is replaced, other settings are kept", () => {
    const run = runInitialize("agent-existing", initializeScript(inv, hostNamed(inv, "agent01")), {
      rebootmgrInstalled: false,
      existingConf: "UPDATE_METHOD=up\nREBOOT_METHOD=auto\n",
    });
    expect(run.result.code).toBe(0);
    expect(run.read("transactional-update.conf")).toBe("UPDATE_METHOD=up\nREBOOT_METHOD=kured\n");
    // rebootmgr not installed: nothing to disable, and that is no error.
    expect(run.calls).toEqual(["systemctl cat rebootmgr.service"]);
    expect(run.scriptLeft).toBe(false);
  });

  test("on a load balancer: rebootmgr enabled with this host's window and the spec's strategy", () => {
    const lb = hostNamed(inv, "lb02");
    const run = runInitialize("lb", initializeScript(inv, lb), { rebootmgrInstalled: true });
    expect(run.result.code).toBe(0);
    expect(run.calls).toEqual([
      "systemctl enable --now rebootmgr.service",
      `rebootmgrctl set-window ${lb.rebootWindow.start} ${lb.rebootWindow.duration}`,
      "rebootmgrctl set-strategy best-effort",
    ]);
    expect(lb.rebootWindow.start).toBe("17:15");
    expect(run.read("transactional-update.conf")).toBe("REBOOT_METHOD=rebootmgr\n");
    expect(run.read("NetworkManager/conf.d/rke2-canal.conf")).toBeUndefined();
    expect(run.scriptLeft).toBe(false);
  });

  test("a failing command stops the script, which then stays for a later look", () => {
    const run = runInitialize("lb-fail", initializeScript(inv, hostNamed(inv, "lb01")), {
      rebootmgrInstalled: true,
      failRebootmgrctl: true,
    });
    expect(run.result.code).not.toBe(0);
    expect(run.calls).toEqual(["systemctl enable --now rebootmgr.service", "rebootmgrctl set-window 17:00 1h30m"]);
    expect(run.scriptLeft).toBe(true);
  });
});
