// What a lab host looks like when it first comes up: the state cloud-init's first boot leaves
// on a MicroOS VM (hostname, login user with its authorized keys and sudo rule, the derived SSH
// host key, sshd without passwords, write_files, packages installed), written straight into the
// host's root before its first boot. Debian's cloud-init is not run (see README.md: its package
// and network modules would fight the lab); the per-instance scripts that write_files drops
// (starbase's initialize.sh) do run, once, from a unit on the first boot, as cloud-init's
// scripts_per_instance would run them.
import { randomBytes } from "node:crypto";
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parse } from "yaml";
import { run } from "./netns.ts";
import { writeInstalled } from "./standins/packages.ts";

/** Paths inside every host. */
export const GUEST = {
  /** The repository's test/lab/, read-only. */
  src: "/opt/starbase-lab/src",
  bun: "/opt/starbase-lab/bin/bun",
  kubectl: "/opt/starbase-lab/bin/kubectl",
  hostJson: "/etc/starbase-lab/host.json",
  state: "/var/lib/starbase-lab",
  callLog: "/var/log/starbase-lab/calls.jsonl",
  firstBootDone: "/var/lib/starbase-lab/firstboot.done",
  perInstanceScripts: "/var/lib/cloud/scripts/per-instance",
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
  groups?: string[];
}

export interface WriteFile {
  path: string;
  content: string;
  /** Octal string as in cloud-init ("0644"). */
  permissions?: string;
  /** "user:group"; root:root when absent. */
  owner?: string;
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
  users: LoginUser[];
  hostKey: HostKeyPair;
  passwordAuthentication: boolean;
  /** Installed as of the first boot (cloud-init's packages, after its reboot). */
  packages: string[];
  writeFiles: WriteFile[];
  nameservers: string[];
  info: HostInfo;
}

/** The parts of a rendered #cloud-config user-data the lab applies. Unknown keys are ignored. */
export interface UserDataSetup {
  hostname?: string;
  users: LoginUser[];
  hostKey?: HostKeyPair;
  passwordAuthentication?: boolean;
  packages: string[];
  writeFiles: WriteFile[];
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
}

/** Reads what cloud-init's set_hostname, users_groups, ssh, write_files and packages modules would apply. */
export function setupFromUserData(text: string): UserDataSetup {
  if (!text.startsWith("#cloud-config")) throw new Error("user-data must begin with #cloud-config");
  const doc = (parse(text) ?? {}) as Record<string, unknown>;
  const users: LoginUser[] = [];
  for (const entry of Array.isArray(doc.users) ? doc.users : []) {
    if (entry === "default" || typeof entry !== "object" || entry === null) continue;
    const user = entry as Record<string, unknown>;
    if (typeof user.name !== "string") continue;
    users.push({
      name: user.name,
      authorizedKeys: strings(user.ssh_authorized_keys),
      ...(typeof user.sudo === "string" ? { sudo: user.sudo } : {}),
      ...(typeof user.shell === "string" ? { shell: user.shell } : {}),
      groups: typeof user.groups === "string" ? user.groups.split(",").map((g) => g.trim()) : strings(user.groups),
    });
  }
  const keys = (doc.ssh_keys ?? {}) as Record<string, unknown>;
  const writeFiles: WriteFile[] = [];
  for (const entry of Array.isArray(doc.write_files) ? doc.write_files : []) {
    const file = entry as Record<string, unknown>;
    if (typeof file.path !== "string") continue;
    let content = typeof file.content === "string" ? file.content : "";
    if (file.encoding === "b64" || file.encoding === "base64") content = Buffer.from(content, "base64").toString("utf8");
    writeFiles.push({
      path: file.path,
      content,
      ...(typeof file.permissions === "string" ? { permissions: file.permissions } : {}),
      ...(typeof file.owner === "string" ? { owner: file.owner } : {}),
    });
  }
  return {
    ...(typeof doc.hostname === "string" ? { hostname: doc.hostname } : {}),
    users,
    ...(typeof keys.ed25519_private === "string" && typeof keys.ed25519_public === "string"
      ? { hostKey: { privateKey: keys.ed25519_private, publicKey: keys.ed25519_public.trim() } }
      : {}),
    ...(typeof doc.ssh_pwauth === "boolean" ? { passwordAuthentication: doc.ssh_pwauth } : {}),
    packages: strings(doc.packages),
    writeFiles,
  };
}

/** A fresh ed25519 key pair (ssh-keygen), for hosts whose setup names none. */
export function generateKeyPair(scratch: string, comment: string): HostKeyPair {
  const file = join(scratch, `key-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const made = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
  if (made.code !== 0) throw new Error(`ssh-keygen failed: ${made.stderr.trim()}`);
  const pair = { privateKey: readFileSync(file, "utf8"), publicKey: readFileSync(`${file}.pub`, "utf8").trim() };
  run(["rm", "-f", file, `${file}.pub`]);
  return pair;
}

function put(root: string, path: string, content: string, mode: number, owner?: { uid: number; gid: number }): void {
  const target = join(root, path);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, content, { mode });
  chmodSync(target, mode);
  if (owner) chownSync(target, owner.uid, owner.gid);
}

function inRoot(root: string, argv: string[]): void {
  const result = run(["chroot", root, ...argv]);
  if (result.code !== 0) throw new Error(`${argv.join(" ")} in the host's root failed: ${result.stderr.trim()}`);
}

/** uid and gid of a user or group name, read from the host's own passwd/group files. */
function idOf(root: string, file: "passwd" | "group", name: string): number | undefined {
  for (const line of readFileSync(join(root, "etc", file), "utf8").split("\n")) {
    const fields = line.split(":");
    if (fields[0] === name) return Number(fields[2]);
  }
  return undefined;
}

function ownerOf(root: string, spec: string | undefined): { uid: number; gid: number } {
  const [user = "root", group = user] = (spec ?? "root:root").split(":");
  return { uid: idOf(root, "passwd", user) ?? 0, gid: idOf(root, "group", group) ?? 0 };
}

function addUser(root: string, user: LoginUser): void {
  if (user.name === "root") {
    put(root, "/root/.ssh/authorized_keys", user.authorizedKeys.map((key) => `${key}\n`).join(""), 0o600);
    chmodSync(join(root, "root/.ssh"), 0o700);
    return;
  }
  if (idOf(root, "passwd", user.name) === undefined) {
    // useradd leaves the password locked ("!"), as lock_passwd: true does.
    inRoot(root, ["useradd", "--create-home", "--user-group", "--shell", user.shell ?? "/bin/bash", user.name]);
  }
  const groups = (user.groups ?? []).filter((group) => idOf(root, "group", group) !== undefined);
  if (groups.length > 0) inRoot(root, ["usermod", "-a", "-G", groups.join(","), user.name]);
  const owner = ownerOf(root, `${user.name}:${user.name}`);
  const home = `/home/${user.name}`;
  mkdirSync(join(root, home, ".ssh"), { recursive: true, mode: 0o700 });
  chownSync(join(root, home, ".ssh"), owner.uid, owner.gid);
  put(root, `${home}/.ssh/authorized_keys`, user.authorizedKeys.map((key) => `${key}\n`).join(""), 0o600, owner);
}

/** The sudoers file cloud-init writes for users with a sudo rule. */
function sudoers(users: LoginUser[]): string | undefined {
  const rules = users.filter((user) => user.sudo !== undefined).map((user) => `\n# User rules for ${user.name}\n${user.name} ${user.sudo}\n`);
  return rules.length > 0 ? `# Created by the starbase lab (as cloud-init's users_groups module)\n${rules.join("")}` : undefined;
}

/** Stand-in commands: small wrappers that run the TypeScript stand-ins with the host's bun. */
const STANDIN_COMMANDS: Record<string, string> = {
  "/usr/sbin/transactional-update": "transactional-update",
  "/usr/bin/rebootmgrctl": "rebootmgrctl",
  "/usr/sbin/semanage": "semanage",
  "/usr/sbin/getenforce": "getenforce",
  "/usr/bin/rpm": "rpm",
  "/usr/bin/zypper": "zypper",
};

const FIRST_BOOT_UNIT = `[Unit]
Description=starbase lab: per-instance scripts of the first boot (as cloud-init's scripts_per_instance)
ConditionPathExists=!${GUEST.firstBootDone}
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'for s in ${GUEST.perInstanceScripts}/*; do [ -x "$s" ] || continue; "$s" >> /var/log/starbase-lab/firstboot.log 2>&1; echo "$s exit $?" >> /var/log/starbase-lab/firstboot.log; done; touch ${GUEST.firstBootDone}'

[Install]
WantedBy=multi-user.target
`;

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
  put(root, "/etc/hostname", `${setup.hostname}\n`, 0o644);
  // A VM has its own machine-id from its first boot; without one systemd-firstboot would prompt.
  put(root, "/etc/machine-id", `${randomBytes(16).toString("hex")}\n`, 0o444);
  put(root, "/etc/hosts", `127.0.0.1\tlocalhost\n127.0.1.1\t${setup.hostname}\n::1\tlocalhost ip6-localhost ip6-loopback\n`, 0o644);
  put(root, "/etc/resolv.conf", setup.nameservers.map((ns) => `nameserver ${ns}\n`).join(""), 0o644);
  put(root, "/etc/ssh/ssh_host_ed25519_key", setup.hostKey.privateKey.endsWith("\n") ? setup.hostKey.privateKey : `${setup.hostKey.privateKey}\n`, 0o600);
  put(root, "/etc/ssh/ssh_host_ed25519_key.pub", `${setup.hostKey.publicKey}\n`, 0o644);
  put(root, "/etc/ssh/sshd_config.d/50-cloud-init.conf", `PasswordAuthentication ${setup.passwordAuthentication ? "yes" : "no"}\n`, 0o644);
  for (const user of setup.users) addUser(root, user);
  const rules = sudoers(setup.users);
  if (rules !== undefined) put(root, "/etc/sudoers.d/90-cloud-init-users", rules, 0o440);
  for (const file of setup.writeFiles) {
    put(root, file.path, file.content, parseInt(file.permissions ?? "0644", 8), ownerOf(root, file.owner));
  }
  put(root, GUEST.hostJson, `${JSON.stringify(setup.info, null, 2)}\n`, 0o644);
  mkdirSync(join(root, "var/log/starbase-lab"), { recursive: true });
  for (const [path, tool] of Object.entries(STANDIN_COMMANDS)) {
    put(root, path, `#!/bin/sh\nexec ${GUEST.bun} ${GUEST.src}/standins/main.ts ${tool} "$@"\n`, 0o755);
  }
  put(root, "/usr/lib/systemd/system/rebootmgr.service", REBOOTMGR_UNIT, 0o644);
  put(root, "/etc/systemd/system/starbase-lab-firstboot.service", FIRST_BOOT_UNIT, 0o644);
  const wants = join(root, "etc/systemd/system/multi-user.target.wants/starbase-lab-firstboot.service");
  mkdirSync(dirname(wants), { recursive: true });
  if (!existsSync(wants)) symlinkSync("/etc/systemd/system/starbase-lab-firstboot.service", wants);
  return writeInstalled(root, labSrc, setup.packages);
}
