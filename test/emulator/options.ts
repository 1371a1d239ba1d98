// Options of the emulator and their defaults.

export type FaultKind = "lockTimeout" | "timeout596" | "drop" | "taskFail" | "taskSlow";
export const FAULT_KINDS: FaultKind[] = ["lockTimeout", "timeout596", "drop", "taskFail", "taskSlow"];

export interface FaultOptions {
  seed?: number;
  /** Probability (0..1) per eligible request, per kind. */
  rates?: Partial<Record<FaultKind, number>>;
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
  /** Schema file; undefined = locate it (STARBASE_PVE_SCHEMA, ../shared/pve-api); null = no schema checks. */
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
  /** Storages of every node; default: local (dir) and local-lvm (lvmthin). */
  storages?: StorageSpec[];
  published?: Record<string, UpstreamFile>;
  /** Time after a start until the guest agent answers. */
  agentDelayMs?: number;
  /** Where start-up notices go (default: stderr). */
  notice?: (line: string) => void;
}

export const DEFAULT_TOKEN: TokenSpec = { id: "starbase@pve!emulator", secret: "5e1f6a2c-0000-4000-8000-000000000000" };

export function defaultStorages(): StorageSpec[] {
  return [
    { id: "local", type: "dir", path: "/var/lib/vz", content: ["iso", "import", "snippets", "vztmpl", "backup"], totalBytes: 100 * 2 ** 30 },
    { id: "local-lvm", type: "lvmthin", content: ["images", "rootdir"], totalBytes: 500 * 2 ** 30 },
  ];
}

export function parseTokenArgument(argument: string): TokenSpec {
  const split = argument.lastIndexOf("=");
  if (split <= 0 || !/^[^@!\s]+@[^@!\s]+![A-Za-z][A-Za-z0-9.\-_]+$/.test(argument.slice(0, split))) {
    throw new Error(`invalid token '${argument.slice(0, Math.max(split, 0))}': expected USER@REALM!ID=SECRET`);
  }
  return { id: argument.slice(0, split), secret: argument.slice(split + 1) };
}
