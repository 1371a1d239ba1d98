// The lab: real hosts for integration tests. Each host is a systemd-nspawn container booting
// real systemd from a cached Debian rootfs (own overlay file system, PID namespace, network
// namespace with the spec's NIC names, real OpenSSH sshd), on bridges in a switch namespace,
// with addresses in 198.18.0.0/15 only. Clients run in a control namespace without a default
// route; the root namespace routes the whole range to `unreachable`. Nothing leaves the machine.
//
// Usage (one lab per test file, as root):
//   import { labUp } from "../lab/lab.ts";
//   const lab = await labUp(`${tmp}/lab`, {
//     networks: [{ name: "cluster", cidr: "198.18.8.0/24", gateway: "198.18.8.1" }],
//     hosts: [{ name: "lb01", nics: [{ network: "cluster", ip: "198.18.8.11" }],
//               login: [{ name: "ops", authorizedKeys: [myPublicKey], sudo: "ALL=(ALL) NOPASSWD:ALL" }] }],
//     control: [{ network: "cluster" }],
//   });
//   await lab.exec("lb01", ["systemctl", "is-system-running", "--wait"]);   // inside the host
//   Bun.spawnSync([...lab.controlExec, "ssh", "ops@198.18.8.11", ...]);      // a client on the network
//   lab.knownHosts                                                           // DIR/known_hosts (host keys)
//   await lab.reboot("lb01");                                                // sshd goes away and comes back
//   await lab.down();                                                        // in afterAll: nothing left behind
// From a spec: `npm run lab -- up FILE --dir DIR` (scripts/lab.ts); see README.md.
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync, realpathSync, rmSync, rmdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";
import { cidrContains, formatIpv4, parseCidr, parseIpv4 } from "../../src/net/ip.ts";
import { generateKeyPair, GUEST, loginUserData, prepareRoot, userDataFacts, type HostInfo, type HostKeyPair, type HostSetup, type LoginUser } from "./host-setup.ts";
import { ensureLabRangeUnreachable, LAB_RANGE, run, runOrThrow, type CommandResult } from "./netns.ts";
import { ensureRootfs } from "./rootfs.ts";
import { removeHostCgroups } from "./cgroups.ts";
import { hasLabState, machineName, readLabState, writeLabState, type HostState, type LabState } from "./state.ts";

export type { CommandResult } from "./netns.ts";
export type { HostInfo, HostKeyPair, LoginUser } from "./host-setup.ts";

export interface LabNetwork {
  name: string;
  cidr: string;
  /** Put on the bridge (the switch namespace answers ARP and ping for it; it routes nothing). */
  gateway?: string;
}

export interface LabNic {
  network: string;
  ip: string;
  /** The NIC's name inside the host (the spec's network.interface); default ens18, then ens19 … */
  interface?: string;
}

export interface LabHost {
  name: string;
  nics: LabNic[];
  /** Network whose gateway is the host's default route; default: the first NIC's, if it has one. null: none. */
  defaultRoute?: string | null;
  /**
   * A rendered #cloud-config (`starbase render`'s user-data) that cloud-init applies on the first
   * boot: hostname, users, authorized keys, sudo rules, the SSH host key (ssh_keys, required),
   * write_files, per-instance scripts. Its packages count as installed.
   */
  userData?: string;
  /** The NoCloud meta-data that goes with userData; default: instance-id lab-<name>, local-hostname. */
  metaData?: string;
  /** Login users when there is no user-data; default: root with the lab's own client key. */
  login?: LoginUser[];
  /** SSH host key when there is no user-data; default: a fresh one. */
  hostKey?: HostKeyPair;
  /** Packages installed as of the first boot (added to user-data's). */
  packages?: string[];
  /** Fields of /etc/starbase-lab/host.json; role defaults to "other", ip to the first NIC's. */
  info?: Partial<Omit<HostInfo, "name">>;
}

export interface LabControlNic {
  network: string;
  /** Default: the highest address of the network that nothing else uses. */
  ip?: string;
}

export interface LabTopology {
  networks: LabNetwork[];
  hosts: LabHost[];
  /** The networks the control namespace is attached to (no default route). */
  control: LabControlNic[];
}

export interface ExecOptions {
  /** Run as this user (runuser) instead of root. */
  user?: string;
  stdin?: string;
}

const READY_TIMEOUT_MS = 90_000;
const STOP_TIMEOUT_MS = 15_000;
const LAB_DIR = import.meta.dir;
const SUPERVISOR = join(LAB_DIR, "supervisor.ts");
const GUEST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/** inotify instances per user: each host's systemd takes about 7, and the kernel's default (128) is shared by every lab on the machine. */
const INOTIFY_INSTANCES = 4096;

/**
 * Raises the machine's inotify instance limit when it is lower: a host's systemd that finds
 * none left exits at boot ("Failed to allocate manager object: Too many open files"). Only ever
 * raised, never lowered; the only machine-wide setting the lab changes besides the guard route.
 */
function ensureInotifyInstances(): void {
  const path = "/proc/sys/fs/inotify/max_user_instances";
  const current = Number(readFileSync(path, "utf8").trim());
  if (Number.isFinite(current) && current < INOTIFY_INSTANCES) writeFileSync(path, `${INOTIFY_INSTANCES}\n`);
}

function fail(message: string): never {
  throw new Error(`lab: ${message}`);
}

/** Namespace prefix of the lab in DIR: unique per directory, short enough for interface-free names. */
export function labPrefix(dir: string): string {
  return `sbl${createHash("sha256").update(resolve(dir)).digest("hex").slice(0, 8)}`;
}

interface PlacedNic {
  network: LabNetwork;
  networkIndex: number;
  ip: string;
  prefix: number;
  interface: string;
}

/** Checks the topology (addresses in the lab range and their network, unique names) and fills defaults. */
function place(topology: LabTopology): { hosts: { host: LabHost; nics: PlacedNic[] }[]; control: PlacedNic[] } {
  const range = parseCidr(LAB_RANGE)!;
  const networks = new Map<string, { network: LabNetwork; index: number; used: Set<number> }>();
  for (const [index, network] of topology.networks.entries()) {
    const cidr = parseCidr(network.cidr) ?? fail(`network ${network.name}: ${network.cidr} is not a CIDR`);
    if (!cidrContains(range, cidr.network) || !cidrContains(range, cidr.broadcast)) fail(`network ${network.name}: ${network.cidr} is not inside ${LAB_RANGE}`);
    if (networks.has(network.name)) fail(`network ${network.name} is declared twice`);
    const used = new Set<number>();
    if (network.gateway !== undefined) {
      const gateway = parseIpv4(network.gateway);
      if (gateway === undefined || !cidrContains(cidr, gateway)) fail(`network ${network.name}: gateway ${network.gateway} is not inside ${network.cidr}`);
      used.add(gateway);
    }
    networks.set(network.name, { network, index, used });
  }
  const nicOf = (owner: string, nic: { network: string; ip?: string; interface?: string }, interfaceName: string): PlacedNic => {
    const entry = networks.get(nic.network) ?? fail(`${owner}: no network ${nic.network}`);
    const cidr = parseCidr(entry.network.cidr)!;
    let ip: number;
    if (nic.ip === undefined) {
      ip = cidr.broadcast - 1;
      while (entry.used.has(ip) && ip > cidr.network) ip--;
    } else {
      ip = parseIpv4(nic.ip) ?? fail(`${owner}: ${nic.ip} is not an IPv4 address`);
      if (!cidrContains(cidr, ip) || ip === cidr.network || ip === cidr.broadcast) fail(`${owner}: ${nic.ip} is not a host address of ${entry.network.cidr}`);
      if (entry.used.has(ip)) fail(`${owner}: ${nic.ip} is used twice on network ${nic.network}`);
    }
    entry.used.add(ip);
    if (!/^[A-Za-z0-9_.-]{1,15}$/.test(interfaceName)) fail(`${owner}: interface name ${interfaceName} is not a Linux interface name (1-15 characters)`);
    return { network: entry.network, networkIndex: entry.index, ip: formatIpv4(ip), prefix: cidr.prefix, interface: interfaceName };
  };
  const names = new Set<string>();
  const hosts = topology.hosts.map((host) => {
    if (!/^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(host.name)) fail(`host ${host.name}: not a host name`);
    if (names.has(host.name)) fail(`host ${host.name} is declared twice`);
    names.add(host.name);
    if (host.nics.length === 0) fail(`host ${host.name} has no NIC`);
    const nics = host.nics.map((nic, i) => nicOf(`host ${host.name}`, nic, nic.interface ?? `ens${18 + i}`));
    if (new Set(nics.map((nic) => nic.interface)).size !== nics.length) fail(`host ${host.name}: two NICs with one name`);
    return { host, nics };
  });
  // Control addresses last, so that their default (highest free) avoids every host.
  const control = topology.control.map((nic, i) => nicOf("control", nic, `eth${i}`));
  return { hosts, control };
}

function spawnDetached(argv: string[], logFile: string): void {
  const log = openSync(logFile, "a");
  // setsid: the supervisor outlives `lab up` and is not in its process group (Ctrl-C, npm).
  const child = Bun.spawn(["setsid", ...argv], { stdin: "ignore", stdout: log, stderr: log });
  closeSync(log);
  child.unref();
}

/** PID from a pid file, or undefined. */
function pidFrom(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, "utf8").trim());
  return Number.isInteger(pid) && pid > 1 ? pid : undefined;
}

/** True when pid is alive and its command line contains every one of `marks` (guards against reused PIDs). */
function isProcess(pid: number, marks: string[]): boolean {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
    return marks.every((mark) => cmdline.includes(mark));
  } catch {
    return false;
  }
}

/**
 * The host's PID 1 as recorded by its supervisor, if that process is still it: a child of the
 * host's own systemd-nspawn, with PID 1 in its namespace (a recycled PID fails both checks).
 */
function containerInit(host: HostState): number | undefined {
  const pid = pidFrom(join(host.dir, "init.pid"));
  const nspawn = pidFrom(join(host.dir, "nspawn.pid"));
  if (pid === undefined || nspawn === undefined || !isProcess(nspawn, ["systemd-nspawn", host.root])) return undefined;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const parent = /^PPid:\s*(\d+)/m.exec(status)?.[1];
    const nspid = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/);
    return Number(parent) === nspawn && nspid?.at(-1) === "1" ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Whether something in pid's network namespace listens on TCP port. */
function listens(pid: number, port: number): boolean {
  const hexPort = `:${port.toString(16).toUpperCase().padStart(4, "0")}`;
  try {
    return readFileSync(`/proc/${pid}/net/tcp`, "utf8")
      .split("\n")
      .some((line) => {
        const fields = line.trim().split(/\s+/);
        return fields[1]?.endsWith(hexPort) === true && fields[3] === "0A";
      });
  } catch {
    return false;
  }
}

function tail(file: string, lines = 15): string {
  if (!existsSync(file)) return "";
  return readFileSync(file, "utf8").split("\n").slice(-lines).join("\n");
}

export class Lab {
  constructor(readonly state: LabState) {}

  get dir(): string {
    return this.state.dir;
  }

  /** Prefix that runs a client on the lab networks: `[...lab.controlExec, "ssh", …]`. */
  get controlExec(): string[] {
    return ["ip", "netns", "exec", this.state.controlNetns];
  }

  /** known_hosts with every host's SSH host key under its name and addresses. */
  get knownHosts(): string {
    return join(this.dir, "known_hosts");
  }

  /** The lab's client key, authorized for root on hosts that were given no login. */
  get clientKey(): string {
    return join(this.dir, "id_ed25519");
  }

  host(name: string): HostState {
    return this.state.hosts.find((host) => host.name === name) ?? fail(`no host ${name} in ${this.dir}`);
  }

  /** The host's systemd (PID 1) as the machine sees it; undefined while it is down. */
  initPid(name: string): number | undefined {
    return containerInit(this.host(name));
  }

  /** How often the host has booted (1 after `up`). */
  boots(name: string): number {
    const file = join(this.host(name).dir, "boot");
    return existsSync(file) ? Number(readFileSync(file, "utf8").trim()) : 0;
  }

  /** argv that runs CMD inside the host: its namespaces, its file system, its systemd, a clean environment. */
  execArgv(name: string, argv: string[], options: ExecOptions = {}): string[] {
    const pid = this.initPid(name) ?? fail(`host ${name} is not running`);
    const env = ["env", "-i", `PATH=${GUEST_PATH}`, "LANG=C.UTF-8", `HOME=${options.user === undefined || options.user === "root" ? "/root" : `/home/${options.user}`}`];
    const asUser = options.user === undefined || options.user === "root" ? [] : ["runuser", "-u", options.user, "--"];
    return ["nsenter", "-t", String(pid), "-a", "--", ...env, ...asUser, ...argv];
  }

  /** Runs CMD inside the host and collects its output. */
  async exec(name: string, argv: string[], options: ExecOptions = {}): Promise<CommandResult> {
    const child = Bun.spawn(this.execArgv(name, argv, options), {
      stdin: options.stdin === undefined ? "ignore" : new TextEncoder().encode(options.stdin),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    return { code, stdout, stderr };
  }

  /** Runs argv in the control namespace (a client on the lab networks). */
  async control(argv: string[]): Promise<CommandResult> {
    const child = Bun.spawn([...this.controlExec, ...argv], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    return { code, stdout, stderr };
  }

  /** Whether the host's sshd listens on port 22. */
  sshListening(name: string): boolean {
    const pid = this.initPid(name);
    return pid !== undefined && listens(pid, 22);
  }

  /**
   * cloud-init's result of the current boot (written at the end of its last stage, in the
   * host's /run): undefined while it runs, else the errors it reported.
   */
  cloudInitErrors(name: string): string[] | undefined {
    const pid = this.initPid(name);
    if (pid === undefined) return undefined;
    try {
      const result = JSON.parse(readFileSync(`/proc/${pid}/root${GUEST.cloudInitResult}`, "utf8")) as { v1?: { errors?: string[] } };
      return result.v1?.errors ?? [];
    } catch {
      return undefined;
    }
  }

  /**
   * Waits until the host has booted at least `boot` times and sshd listens; on the first boot
   * also until cloud-init finished, without errors. cloud-init then stays off for later boots
   * (/etc/cloud/cloud-init.disabled): starbase's user-data has nothing per boot, and each run
   * costs seconds of Python per reboot.
   */
  async waitReady(name: string, boot = 1, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const host = this.host(name);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const booted = this.boots(name);
      const errors = booted === 1 ? this.cloudInitErrors(name) : [];
      if (errors !== undefined && errors.length > 0) fail(`host ${name}: cloud-init reported errors: ${errors.join("; ")}`);
      if (booted >= boot && errors !== undefined && this.sshListening(name)) {
        if (booted === 1) writeFileSync(join(host.root, "etc/cloud/cloud-init.disabled"), "starbase lab: cloud-init ran on the first boot\n");
        return;
      }
      const supervisor = host.supervisorPid ?? pidFrom(join(host.dir, "supervisor.pid"));
      if (supervisor !== undefined && !isProcess(supervisor, [SUPERVISOR])) {
        fail(`host ${name} stopped while booting:\n${tail(join(host.dir, "supervisor.log"))}\n${tail(join(host.dir, "console.log"))}`);
      }
      await Bun.sleep(50);
    }
    fail(`host ${name} was not ready (sshd, cloud-init) within ${timeoutMs / 1000} s:\n${tail(join(host.dir, "console.log"))}`);
  }

  /** Reboots the host from inside (systemctl reboot) and waits until it is back with sshd. */
  async reboot(name: string, timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const boot = this.boots(name);
    await this.exec(name, ["systemctl", "reboot"]);
    await this.waitReady(name, boot + 1, timeoutMs);
  }

  /** Stops every host and removes every namespace, process, mount and file of the lab. */
  async down(): Promise<void> {
    await labDown(this.dir);
  }
}

/** The lab that is up in DIR (from another process). */
export function openLab(dir: string): Lab {
  if (!hasLabState(dir)) fail(`no lab in ${dir}`);
  return new Lab(readLabState(resolve(dir)));
}

/** The real file behind a command (bind mounts need the file, not a link). */
function realCommand(path: string): string | undefined {
  return existsSync(path) ? realpathSync(path) : undefined;
}

function buildSetup(state: LabState, host: LabHost, nics: PlacedNic[], clientPublicKey: string): HostSetup {
  let userData = host.userData;
  if (userData === undefined) {
    const users = host.login ?? [{ name: "root", authorizedKeys: [clientPublicKey] }];
    userData = loginUserData(host.name, users, host.hostKey ?? generateKeyPair(state.dir, host.name));
  }
  const facts = userDataFacts(userData);
  const hostname = facts.hostname ?? host.name;
  if (facts.hostKey === undefined) fail(`host ${host.name}: its user-data has no ssh_keys.ed25519_public (the lab must know the host key)`);
  const first = nics[0]!;
  const info: HostInfo = {
    name: host.name,
    role: host.info?.role ?? "other",
    ip: host.info?.ip ?? first.ip,
    vip: host.info?.vip ?? null,
    loadBalancers: host.info?.loadBalancers ?? [],
    servers: host.info?.servers ?? [],
    firstServer: host.info?.firstServer ?? null,
    readyAfterMs: host.info?.readyAfterMs ?? 1000,
  };
  return {
    hostname,
    userData,
    metaData: host.metaData ?? `instance-id: lab-${state.prefix}-${host.name}\nlocal-hostname: ${hostname}\n`,
    hostKey: facts.hostKey,
    packages: [...new Set([...facts.packages, ...(host.packages ?? [])])],
    nameservers: first.network.gateway !== undefined ? [first.network.gateway] : [],
    info,
  };
}

/**
 * Brings up the lab described by topology, with its state in dir (created; must not hold a lab).
 * Resolves when every host's sshd listens and its first-boot scripts ran. On failure, whatever was
 * made is removed again.
 */
export async function labUp(dir: string, topology: LabTopology): Promise<Lab> {
  dir = resolve(dir);
  if (/[,:\s]/.test(dir)) fail(`${dir}: the lab directory may not contain commas, colons or spaces (overlay and nspawn options)`);
  if (hasLabState(dir)) fail(`a lab is already up in ${dir} (run down first)`);
  const placed = place(topology);
  if (process.getuid?.() !== 0) fail("the lab needs root (network namespaces, overlay mounts, systemd-nspawn)");
  if (!Bun.which("systemd-nspawn")) fail("systemd-nspawn is missing: apt-get install systemd-container");
  const prefix = labPrefix(dir);
  const leftovers = run(["ip", "netns", "list"]).stdout.split("\n").filter((line) => line.startsWith(`${prefix}-`));
  if (leftovers.length > 0) fail(`namespaces of an earlier lab in ${dir} are still there (${leftovers.join(", ")}): run down first`);
  const rootfs = ensureRootfs();
  ensureLabRangeUnreachable();
  ensureInotifyInstances();

  mkdirSync(join(dir, "hosts"), { recursive: true });
  const bun = realCommand(process.execPath) ?? fail("cannot find bun");
  const kubectl = Bun.which("kubectl") ?? undefined;
  const state: LabState = {
    dir,
    prefix,
    switchNetns: `${prefix}-sw`,
    controlNetns: `${prefix}-ctl`,
    controlAddresses: Object.fromEntries(placed.control.map((nic) => [nic.network.name, nic.ip])),
    labSrc: LAB_DIR,
    rootfs,
    hosts: placed.hosts.map(({ host, nics }, i) => {
      const hostDir = join(dir, "hosts", host.name);
      const root = join(hostDir, "root");
      const netns = `${prefix}-h${i}`;
      return {
        name: host.name,
        netns,
        dir: hostDir,
        root,
        addresses: Object.fromEntries(nics.map((nic) => [nic.network.name, nic.ip])),
        hostKey: "",
        nspawn: [
          "systemd-nspawn",
          "--quiet",
          "--boot",
          `--directory=${root}`,
          `--machine=${prefix}-${host.name}`.slice(0, 64),
          `--hostname=${host.name}`,
          "--keep-unit",
          "--register=no",
          "--settings=false",
          "--private-network",
          `--network-namespace-path=/run/netns/${netns}`,
          "--resolv-conf=off",
          "--timezone=off",
          "--link-journal=no",
          "--console=read-only",
          `--bind-ro=${LAB_DIR}:${GUEST.src}`,
          `--bind-ro=${bun}:${GUEST.bun}`,
          ...(kubectl !== undefined ? [`--bind-ro=${realpathSync(kubectl)}:${GUEST.kubectl}`] : []),
        ],
      };
    }),
    ready: false,
  };
  writeLabState(state);
  try {
    buildNetworks(state, topology, placed);
    const client = join(dir, "id_ed25519");
    const made = run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `lab-client@${prefix}`, "-f", client]);
    if (made.code !== 0) fail(`ssh-keygen: ${made.stderr.trim()}`);
    const clientPublicKey = readFileSync(`${client}.pub`, "utf8").trim();
    const knownHosts: string[] = [];
    for (const [i, { host, nics }] of placed.hosts.entries()) {
      const hostState = state.hosts[i]!;
      for (const sub of ["upper", "work", "root"]) mkdirSync(join(hostState.dir, sub), { recursive: true });
      runOrThrow(["mount", "-t", "overlay", "overlay", "-o", `lowerdir=${rootfs},upperdir=${hostState.dir}/upper,workdir=${hostState.dir}/work`, hostState.root]);
      const setup = buildSetup(state, host, nics, clientPublicKey);
      for (const problem of prepareRoot(hostState.root, LAB_DIR, setup)) console.error(`lab: ${host.name}: ${problem.trim()}`);
      hostState.hostKey = setup.hostKey;
      const [type, key] = setup.hostKey.split(/\s+/);
      knownHosts.push(`${[host.name, ...nics.map((nic) => nic.ip)].join(",")} ${type} ${key}\n`);
    }
    writeFileSync(join(dir, "known_hosts"), knownHosts.join(""));
    writeLabState(state);
    for (const host of state.hosts) spawnDetached([process.execPath, SUPERVISOR, dir, host.name], join(host.dir, "supervisor.out"));
    const lab = new Lab(state);
    // The supervisors write their PIDs; record them before waiting so that down finds them.
    const deadline = Date.now() + 10_000;
    for (const host of state.hosts) {
      while ((host.supervisorPid = pidFrom(join(host.dir, "supervisor.pid"))) === undefined) {
        if (Date.now() > deadline) fail(`the supervisor of ${host.name} did not start:\n${tail(join(host.dir, "supervisor.out"))}`);
        await Bun.sleep(20);
      }
    }
    writeLabState(state);
    for (const host of state.hosts) await lab.waitReady(host.name);
    state.ready = true;
    writeLabState(state);
    return lab;
  } catch (error) {
    await labDown(dir);
    throw error;
  }
}

function buildNetworks(state: LabState, topology: LabTopology, placed: ReturnType<typeof place>): void {
  const sw = state.switchNetns;
  const ip = (...args: string[]) => runOrThrow(["ip", ...args]);
  ip("netns", "add", sw);
  ip("-n", sw, "link", "set", "lo", "up");
  for (const [k, network] of topology.networks.entries()) {
    ip("-n", sw, "link", "add", `br${k}`, "type", "bridge");
    ip("-n", sw, "link", "set", `br${k}`, "up");
    if (network.gateway !== undefined) {
      ip("-n", sw, "address", "add", `${network.gateway}/${parseCidr(network.cidr)!.prefix}`, "dev", `br${k}`);
    }
  }
  // The veth pairs are created straight in their namespaces: nothing appears in the root namespace.
  const attach = (netns: string, port: string, nic: PlacedNic) => {
    ip("link", "add", port, "netns", sw, "type", "veth", "peer", "name", nic.interface, "netns", netns);
    ip("-n", sw, "link", "set", port, "master", `br${nic.networkIndex}`, "up");
    ip("-n", netns, "address", "add", `${nic.ip}/${nic.prefix}`, "dev", nic.interface);
    ip("-n", netns, "link", "set", nic.interface, "up");
  };
  ip("netns", "add", state.controlNetns);
  ip("-n", state.controlNetns, "link", "set", "lo", "up");
  for (const [k, nic] of placed.control.entries()) attach(state.controlNetns, `c${k}`, nic);
  for (const [i, { host, nics }] of placed.hosts.entries()) {
    const netns = state.hosts[i]!.netns;
    ip("netns", "add", netns);
    ip("-n", netns, "link", "set", "lo", "up");
    for (const [j, nic] of nics.entries()) attach(netns, `h${i}n${j}`, nic);
    const routeNetwork = host.defaultRoute === undefined ? nics[0]!.network.name : host.defaultRoute;
    if (routeNetwork !== null) {
      const gateway = topology.networks.find((network) => network.name === routeNetwork)?.gateway;
      if (gateway !== undefined) ip("-n", netns, "route", "add", "default", "via", gateway);
      else if (host.defaultRoute !== undefined) fail(`host ${host.name}: network ${routeNetwork} has no gateway for the default route`);
    }
  }
}

/** Sends signal to pid if it is still the process we started (its command line holds `marks`). */
function signal(pid: number | undefined, marks: string[], sig: NodeJS.Signals): boolean {
  if (pid === undefined || !isProcess(pid, marks)) return false;
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(pids: { pid: number | undefined; marks: string[] }[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(({ pid, marks }) => pid !== undefined && isProcess(pid, marks))) {
    if (Date.now() > deadline) return false;
    await Bun.sleep(50);
  }
  return true;
}

/** PIDs of the processes in a network namespace (ours: we made the namespace). */
function netnsPids(netns: string): number[] {
  return run(["ip", "netns", "pids", netns]).stdout.split("\n").filter(Boolean).map(Number);
}

function isMounted(path: string): boolean {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .some((line) => line.split(" ")[4] === path);
}

/**
 * Removes the lab in DIR: stops each host (orderly poweroff, then SIGKILL by PID), kills what is
 * left in its namespaces by PID, unmounts, deletes the namespaces and the lab's files in DIR.
 * Safe to call on a half-built lab and twice.
 */
export async function labDown(dir: string): Promise<void> {
  dir = resolve(dir);
  const prefix = labPrefix(dir);
  const state = hasLabState(dir) ? readLabState(dir) : undefined;
  const hosts = state?.hosts ?? [];
  const supervisors = hosts.map((host) => ({ pid: host.supervisorPid ?? pidFrom(join(host.dir, "supervisor.pid")), marks: [SUPERVISOR, dir] }));
  // Supervisors first (so that none boots its host again), then each host's PID 1: SIGKILL to a
  // PID namespace's init ends every process in it at once; an orderly poweroff would take
  // seconds per host on a loaded machine and nothing of a lab host needs to be saved.
  for (const { pid, marks } of supervisors) signal(pid, marks, "SIGTERM");
  for (const pid of hosts.map(containerInit)) signal(pid, [], "SIGKILL");
  if (!(await waitGone(supervisors, STOP_TIMEOUT_MS))) {
    for (const host of hosts) {
      signal(pidFrom(join(host.dir, "nspawn.pid")), ["systemd-nspawn", host.root], "SIGKILL");
    }
    for (const { pid, marks } of supervisors) signal(pid, marks, "SIGKILL");
    await waitGone(supervisors, 5_000);
  }
  const namespaces = run(["ip", "netns", "list"])
    .stdout.split("\n")
    .map((line) => line.split(" ")[0]!)
    .filter((name) => name.startsWith(`${prefix}-`));
  for (const netns of namespaces) {
    for (let attempt = 0; attempt < 2; attempt++) {
      const pids = netnsPids(netns);
      if (pids.length === 0) break;
      for (const pid of pids) signal(pid, [], attempt === 0 ? "SIGTERM" : "SIGKILL");
      await waitGone(pids.map((pid) => ({ pid, marks: [] })), 3_000);
    }
  }
  for (const host of hosts) {
    if (isMounted(host.root)) {
      const unmounted = run(["umount", host.root]);
      if (unmounted.code !== 0) runOrThrow(["umount", "--lazy", host.root]);
    }
    // nspawn leaves its (empty) propagation directory for the machine name behind.
    rmSync(`/run/systemd/nspawn/propagate/${machineName(host)}`, { recursive: true, force: true });
    removeHostCgroups(machineName(host));
  }
  for (const netns of namespaces) runOrThrow(["ip", "netns", "delete", netns]);
  // Only what the lab wrote; DIR itself goes when nothing else is in it.
  for (const name of ["hosts", "known_hosts", "id_ed25519", "id_ed25519.pub", "render", "lab.json", "lab.json.tmp"]) {
    rmSync(join(dir, name), { recursive: true, force: true });
  }
  if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
}
