// Options of the emulator and their defaults.
import { isPveTokenId } from "./token-id.ts";

export type FaultKind = "lockTimeout" | "timeout596" | "drop" | "taskFail" | "taskSlow" | "taskLockTimeout";
export const FAULT_KINDS: FaultKind[] = ["lockTimeout", "timeout596", "drop", "taskFail", "taskSlow", "taskLockTimeout"];
/** The kinds that can hit a GET: it takes no lock and starts no task. */
export const READ_FAULT_KINDS: FaultKind[] = ["timeout596", "drop"];

export interface FaultOptions {
  seed?: number;
  /** Probability (0..1) per eligible request, per kind. Ignored when `rate` is set. */
  rates?: Partial<Record<FaultKind, number>>;
  /**
   * Probability (0..1) that a request gets a fault (the CLI's --faults RATE). The kind is then
   * drawn, equally likely, from `kinds` that can hit the request (a GET: only transport faults).
   */
  rate?: number;
  /** The kinds `rate` spreads over (default all). */
  kinds?: FaultKind[];
  /** Duration multiplier of a slow task. */
  slowFactor?: number;
  /** Exit status of a task failed by injection. */
  failText?: string;
}

export interface StorageSpec {
  id: string;
  type: string;
  /** Mount point of file-based storages (dir, nfs, cifs …); absent for block storages. */
  path?: string;
  content: string[];
  shared?: boolean;
  /** Restricts the storage to these nodes (storage.cfg `nodes`). */
  nodes?: string[];
  disabled?: boolean;
  totalBytes?: number;
}

/**
 * An LXC container, only as far as it matters to VMs: it takes a VMID from the same cluster-wide
 * list (PVE::Cluster vmlist) and shows in /cluster/resources as type `lxc`.
 */
export interface ContainerSpec {
  vmid: number;
  node: string;
  /** The container's hostname, its `name` in listings. */
  name: string;
  running: boolean;
  tags?: string;
}

/** One ACL entry: like a role holding exactly `privileges`, granted on `path` (pveum acl modify). */
export interface AclEntry {
  path: string;
  /** Empty = the NoAccess role. */
  privileges: string[];
  /** Reaches the paths below as well (default true, as in pveum). */
  propagate?: boolean;
}

export interface TokenSpec {
  /** Full token id, `user@realm!name`. */
  id: string;
  secret: string;
  /** ACL entries of the token, short form: `Priv` (on /) or `/path:Priv`, propagating. */
  privileges?: string[];
  /** ACL entries of the token; without these and without `privileges` the token may do everything. */
  acl?: AclEntry[];
  /** ACL entries of the token's user; undefined = the user may do everything (like root@pam). */
  userAcl?: AclEntry[];
  /** Privilege separation (default on, as in the web UI): the token has what both it and its user have. */
  privsep?: boolean;
}

export type ChecksumAlgorithm = "md5" | "sha1" | "sha224" | "sha256" | "sha384" | "sha512";
export const CHECKSUM_ALGORITHMS: ChecksumAlgorithm[] = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"];

/** A file the emulated upstream web server offers to download-url. */
export interface UpstreamFile {
  size: number;
  sha256?: string;
  checksums?: Partial<Record<ChecksumAlgorithm, string>>;
  /** Virtual size of a disk image (qcow2/vmdk); defaults to size. */
  virtualSize?: number;
}

export interface EmulatorOptions {
  /** 0 = any free port. */
  port?: number;
  nodes?: string[];
  tokens?: TokenSpec[];
  /** PVE release to emulate: "9.1" (default) or "8.4". */
  version?: string;
  /** Schema extract; undefined = the one of `version` in pve-schema/; null = no schema checks. */
  schemaFile?: string | null;
  requestLogFile?: string;
  stateFile?: string;
  /** Default duration of a task in ms; per task type overrides in taskDurations. */
  taskMs?: number;
  taskDurations?: Partial<Record<string, number>>;
  /** How long a disk allocation holds the storage lock, in ms (default taskMs / 4). */
  allocationMs?: number;
  /** Multiplier of every lock timeout and of the 30 s proxy timeout (1 = real timeouts). */
  lockScale?: number;
  /** Delay of 401 answers (the real server waits 3000 ms). */
  authFailureDelayMs?: number;
  faults?: FaultOptions;
  /** Storages of every node; default: what the installer of `version` writes for `installer` (defaultStorages). */
  storages?: StorageSpec[];
  /** Root file system the node was installed on, which decides the default storages (default lvm). */
  installer?: Installer;
  /** pvestatd's sampling interval in ms (default 10 000); 0 samples at every read (no lag), Infinity only on Emulator.sample(). */
  sampleMs?: number;
  /** datacenter.cfg settings, as written there (property strings). */
  datacenter?: DatacenterSettings;
  published?: Record<string, UpstreamFile>;
  /** LXC containers that exist from the start (a fresh state only). */
  containers?: ContainerSpec[];
  /** Time after a start until the guest agent answers. */
  agentDelayMs?: number;
  /** Where start-up notices go (default: stderr). */
  notice?: (line: string) => void;
}

/** The settings of datacenter.cfg the emulator acts on. */
export interface DatacenterSettings {
  /** e.g. "user-allow=list,user-allow-list=starbase;starbase-web" (default: user-allow=free). */
  "user-tag-access"?: string;
  /** e.g. "prod;backup": tags only a user with Sys.Modify on / may set or remove. */
  "registered-tags"?: string;
}

export const INSTALLERS = ["lvm", "zfs", "btrfs"] as const;
export type Installer = (typeof INSTALLERS)[number];

export const DEFAULT_TOKEN: TokenSpec = { id: "starbase@pve!emulator", secret: "5e1f6a2c-0000-4000-8000-000000000000" };

const GIB = 2 ** 30;

/**
 * The storage.cfg the Proxmox VE installer writes (pve-installer Proxmox/Install/StorageConfig.pm):
 * `local` (dir /var/lib/vz) for ISOs, templates and backups, and a storage for disks that depends
 * on the root file system: LVM-thin `local-lvm` (ext4/xfs), `local-zfs` (ZFS) or `local-btrfs`
 * (BTRFS, where `local` is disabled). Installers of 9.x give `local` (`local-btrfs` on BTRFS) the
 * `import` content type (commit ec1d5ee, August 2025); 8.4's do not. `local` carries `snippets`
 * too, which no installer adds: the emulator's stable contract promises it on every node.
 */
export function defaultStorages(version = "9.1", installer: Installer = "lvm"): StorageSpec[] {
  const withImport = Number(version.split(".")[0]) >= 9;
  const files = ["iso", "vztmpl", "backup", ...(withImport ? ["import"] : [])];
  const local: StorageSpec = { id: "local", type: "dir", path: "/var/lib/vz", content: [...files, "snippets"], totalBytes: 100 * GIB };
  switch (installer) {
    case "zfs":
      return [local, { id: "local-zfs", type: "zfspool", content: ["images", "rootdir"], totalBytes: 500 * GIB }];
    case "btrfs":
      return [
        { ...local, content: ["iso", "vztmpl", "backup", "snippets"], disabled: true },
        { id: "local-btrfs", type: "btrfs", path: "/var/lib/pve/local-btrfs", content: [...files, "images", "rootdir"], totalBytes: 500 * GIB },
      ];
    case "lvm":
      return [local, { id: "local-lvm", type: "lvmthin", content: ["images", "rootdir"], totalBytes: 500 * GIB }];
  }
}

export function parseTokenArgument(argument: string): TokenSpec {
  const split = argument.lastIndexOf("=");
  if (split <= 0 || !isPveTokenId(argument.slice(0, split))) {
    throw new Error(`invalid token '${argument.slice(0, Math.max(split, 0))}': expected USER@REALM!ID=SECRET`);
  }
  return { id: argument.slice(0, split), secret: argument.slice(split + 1) };
}
