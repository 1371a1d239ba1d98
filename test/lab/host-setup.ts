// What a lab host holds before its first boot, so that it comes up as the infra phase leaves a
// VM: a NoCloud seed (starbase's rendered user-data and meta-data, or a user-data made from the
// topology's login and host key) that Debian's real cloud-init applies on the first boot
// (hostname, users, authorized keys, sudo rules, the SSH host key, sshd without passwords,
// write_files, per-instance scripts), plus what the lab itself provides: machine-id, resolver,
// host.json, the MicroOS stand-ins and the package state cloud-init's packages would leave.
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { toYaml } from "../../src/render/yaml.ts";
import { run } from "./netns.ts";
import { writeInstalled } from "./standins/packages.ts";

/** Paths inside every host. */
export const GUEST = {
  /** The repository's test/lab/, read-only. */
  src: "/opt/starbase-lab/src",
  bun: "/opt/starbase-lab/bin/bun",
  kubectl: "/opt/starbase-lab/bin/kubectl",
  hostJson: "/etc/starbase-lab/host.json",
  callLog: "/var/log/starbase-lab/calls.jsonl",
  seed: "/var/lib/cloud/seed/nocloud",
  /** cloud-init's final_message module writes it at the end of the first boot's last stage. */
  bootFinished: "/var/lib/cloud/instance/boot-finished",
  /** cloud-init's summary of the boot (in /run: read through the host's PID 1). */
  cloudInitResult: "/run/cloud-init/result.json",
} as const;

export interface HostKeyPair {
  privateKey: string;
  publicKey: string;
}

export interface LoginUser {
  name: string;
  authorizedKeys: string[];
  /** A sudoers rule ("ALL=(ALL) NOPASSWD:ALL"), as cloud-init's users[].sudo. */
  sudo?: string;
  shell?: string;
}

/** What /etc/starbase-lab/host.json tells programs inside the host (the rke2 stand-in). */
export interface HostInfo {
  name: string;
  role: "loadbalancer" | "server" | "agent" | "other";
  ip: string;
  vip: string | null;
  loadBalancers: string[];
  servers: string[];
  firstServer: string | null;
  readyAfterMs: number;
}

/** Everything written into a host's root before its first boot. */
export interface HostSetup {
  hostname: string;
  /** #cloud-config for cloud-init's NoCloud seed. */
  userData: string;
  metaData: string;
  /** The host key's public half, as the host will present it (for known_hosts). */
  hostKey: string;
  /** Installed as of the first boot (cloud-init's packages, after its reboot). */
  packages: string[];
  nameservers: string[];
  info: HostInfo;
}

/** The parts of a user-data the lab itself needs: the name, the host key, the packages. */
export interface UserDataFacts {
  hostname?: string;
  hostKey?: string;
  packages: string[];
}

export function userDataFacts(text: string): UserDataFacts {
  if (!text.startsWith("#cloud-config")) throw new Error("user-data must begin with #cloud-config");
  const doc = (parse(text) ?? {}) as Record<string, unknown>;
  const keys = (doc.ssh_keys ?? {}) as Record<string, unknown>;
  return {
    ...(typeof doc.hostname === "string" ? { hostname: doc.hostname } : {}),
    ...(typeof keys.ed25519_public === "string" ? { hostKey: keys.ed25519_public.trim() } : {}),
    packages: Array.isArray(doc.packages) ? doc.packages.filter((p): p is string => typeof p === "string") : [],
  };
}

/** A user-data like starbase's for a topology host: its login users and host key, passwords off. */
export function loginUserData(hostname: string, users: LoginUser[], hostKey: HostKeyPair): string {
  const root = users.some((user) => user.name === "root");
  const config = {
    hostname,
    users: users.map((user) => ({
      name: user.name,
      lock_passwd: true,
      ...(user.shell !== undefined || user.name !== "root" ? { shell: user.shell ?? "/bin/bash" } : {}),
      ...(user.sudo !== undefined ? { sudo: user.sudo } : {}),
      ssh_authorized_keys: user.authorizedKeys,
    })),
    // Without this cloud-init replaces root's keys with a "please log in as …" stub.
    ...(root ? { disable_root: false } : {}),
    ssh_pwauth: false,
    ssh_deletekeys: true,
    ssh_genkeytypes: ["ed25519"],
    ssh_keys: { ed25519_private: hostKey.privateKey, ed25519_public: hostKey.publicKey },
  };
  return `#cloud-config\n${toYaml(config)}`;
}

/** A fresh ed25519 key pair (ssh-keygen), for hosts whose setup names none. */
export function generateKeyPair(scratch: string, comment: string): HostKeyPair {
  const file = join(scratch, `key-${process.pid}-${randomBytes(4).toString("hex")}`);
  const made = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  if (made.code !== 0) throw new Error(`ssh-keygen failed: ${made.stderr.trim()}`);
  const pair = { privateKey: readFileSync(file, "utf8"), publicKey: readFileSync(`${file}.pub`, "utf8").trim() };
  run(["rm", "-f", file, `${file}.pub`]);
  return pair;
}

function put(root: string, path: string, content: string, mode: number): void {
  const target = join(root, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content, { mode });
  chmodSync(target, mode);
}

/**
 * The cloud-init modules the lab runs: those that apply starbase's user-data to a host, in
 * cloud-init's order, in two of its four stages. Its local stage and its config stage are masked
 * (their modules move to the neighbouring stages), which halves cloud-init's share of a boot;
 * the network stage finds the NoCloud seed by itself. Left out: package_update_upgrade_install
 * (Debian's would call apt against a network the lab does not have; the lab puts the packages'
 * state in place itself, as MicroOS's transactional-update + reboot would leave it), and the
 * modules for disks, locales, mirrors, time and config managers, which starbase's user-data
 * does not use.
 */
const CLOUD_CFG = `# starbase lab: the NoCloud seed in ${GUEST.seed}, no network configuration (the lab sets
# the addresses before boot), and only the modules that apply starbase's user-data.
datasource_list: [NoCloud, None]
network: {config: disabled}
cloud_init_modules: [migrator, seed_random, bootcmd, write-files, set_hostname, update_hostname, update_etc_hosts, users-groups, ssh, set-passwords]
cloud_config_modules: []
cloud_final_modules: [runcmd, write-files-deferred, scripts-vendor, scripts-per-once, scripts-per-boot, scripts-per-instance, scripts-user, ssh-authkey-fingerprints, final-message, power-state-change]
`;

const MASKED_UNITS = ["cloud-init-local.service", "cloud-config.service"];

/** Stand-in commands: small wrappers that run the TypeScript stand-ins with the host's bun. */
const STANDIN_COMMANDS: Record<string, string> = {
  "/usr/sbin/transactional-update": "transactional-update",
  "/usr/bin/rebootmgrctl": "rebootmgrctl",
  "/usr/sbin/semanage": "semanage",
  "/usr/sbin/getenforce": "getenforce",
  "/usr/bin/rpm": "rpm",
  "/usr/bin/zypper": "zypper",
};

/** rebootmgrd's place: a unit that can be enabled, started and asked about; it never reboots on its own. */
const REBOOTMGR_UNIT = `[Unit]
Description=Reboot Manager (starbase lab stand-in: holds no lock, never reboots by itself)

[Service]
Type=simple
ExecStart=/bin/sleep infinity

[Install]
WantedBy=multi-user.target
`;

/** Writes setup into the (not yet booted) host root; returns the package files it could not install. */
export function prepareRoot(root: string, labSrc: string, setup: HostSetup): string[] {
  // A VM has its own machine-id from its first boot; without one systemd-firstboot would prompt.
  put(root, "/etc/machine-id", `${randomBytes(16).toString("hex")}\n`, 0o444);
  put(root, "/etc/hostname", `${setup.hostname}\n`, 0o644);
  // Debian resolves its own name through /etc/hosts (sudo warns otherwise); cloud-init leaves
  // the file alone without manage_etc_hosts.
  put(root, "/etc/hosts", `127.0.0.1\tlocalhost\n127.0.1.1\t${setup.hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`, 0o644);
  put(root, "/etc/resolv.conf", setup.nameservers.map((ns) => `nameserver ${ns}\n`).join(""), 0o644);
  put(root, `${GUEST.seed}/user-data`, setup.userData, 0o600);
  put(root, `${GUEST.seed}/meta-data`, setup.metaData, 0o644);
  put(root, "/etc/cloud/cloud.cfg.d/99-starbase-lab.cfg", CLOUD_CFG, 0o644);
  for (const unit of MASKED_UNITS) {
    const link = join(root, "etc/systemd/system", unit);
    if (!existsSync(link)) symlinkSync("/dev/null", link);
  }
  put(root, GUEST.hostJson, `${JSON.stringify(setup.info, null, 2)}\n`, 0o644);
  mkdirSync(join(root, "var/log/starbase-lab"), { recursive: true });
  for (const [path, tool] of Object.entries(STANDIN_COMMANDS)) {
    put(root, path, `#!/bin/sh\nexec ${GUEST.bun} ${GUEST.src}/standins/main.ts ${tool} "$@"\n`, 0o755);
  }
  put(root, "/usr/lib/systemd/system/rebootmgr.service", REBOOTMGR_UNIT, 0o644);
  return writeInstalled(root, labSrc, setup.packages);
}
