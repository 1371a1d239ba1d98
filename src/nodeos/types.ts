// The node's operating system behind one narrow interface (k0sctl's configurer is the model):
// every method returns shell text or parses what a node printed; nothing here runs a command.
// Steps never spell a distribution command themselves, so another distribution is one new file.

/** What one batched read of a node asks for; every step on the host adds what it needs. */
export interface FactsQuery {
  /** Absolute paths whose SHA-256, mode and owner are read (missing files are reported as such). */
  files: readonly string[];
  /** Absolute paths whose mere existence is read (never their content: tokens live there). */
  exists: readonly string[];
  /** systemd units whose load, enablement and activity are read. */
  units: readonly string[];
  /** Packages whose installed version is read. */
  packages: readonly string[];
  /** TCP ports whose SELinux port type is read; asking for any also reads the SELinux mode. */
  selinuxPorts: readonly number[];
  /** IPv4 addresses for which the interface holding them is read (a VRRP VIP). */
  addresses?: readonly string[];
}

export interface FileFact {
  sha256: string;
  /** Permission bits, e.g. 0o600. */
  mode: number;
  /** "user:group" */
  owner: string;
}

export interface UnitFact {
  /** "loaded", "not-found", … (systemd's LoadState). */
  load: string;
  /** "active", "inactive", "failed", "activating", … (ActiveState). */
  active: string;
  /** "enabled", "disabled", "static", "" when unknown (UnitFileState). */
  enabled: string;
  /** Monotonic microseconds of the last entry into "active"; 0 when never. A restart changes it. */
  activeSince: number;
}

export type SelinuxMode = "enforcing" | "permissive" | "disabled";

export interface RebootWindow {
  /** systemd calendar time as rebootmgr stores it, e.g. "17:00" (rebootmgr may print "*-*-* 17:00:00"). */
  start: string;
  /** rebootmgr's duration text, e.g. "1h". */
  duration: string;
}

export interface NodeFacts {
  os: { id: string; versionId: string; idLike: string[]; prettyName: string };
  files: Map<string, FileFact | null>;
  exists: Map<string, boolean>;
  units: Map<string, UnitFact>;
  /** Queried IPv4 address → the interface that holds it, or null when none does. */
  addresses: Map<string, string | null>;
  /** Installed version, or null when the package is not installed. */
  packages: Map<string, string | null>;
  /** Packages the package manager keeps where they are (updates never move them). */
  lockedPackages: Set<string>;
  /** null: not read (the query asked for no SELinux port). */
  selinux: SelinuxMode | null;
  /** Port → SELinux type, or null when the port has no type. */
  selinuxPorts: Map<number, string | null>;
  /** The reboot window and strategy the node's reboot manager holds; null when it has none. */
  rebootWindow: RebootWindow | null;
  rebootStrategy: string | null;
  /** Who reboots the node after an update (transactional-update's REBOOT_METHOD); null when unset. */
  rebootMethod: string | null;
  /** An installed update waits for a reboot to become active. */
  rebootNeeded: boolean;
}

/** Configuration files a node can check before they replace the running ones. */
export type ConfigKind = "haproxy" | "keepalived";

/** How a node may be rebooted after an update. */
export type RebootMethod = "rebootmgr" | "kured";

/** One distribution's commands and fact parsing. Every method is pure. */
export interface NodeOs {
  /** Short name, e.g. "microos". */
  readonly name: string;
  /** True when /etc/os-release's ID (and ID_LIKE) name this distribution. */
  matches(osRelease: { id: string; idLike: readonly string[] }): boolean;

  /** Installs packages; they become usable only after `reboot()` on a transactional system. */
  installPackages(packages: readonly string[], options?: InstallOptions): string;
  /** True when installed packages need a reboot before they can be used. */
  readonly packagesNeedReboot: boolean;
  reboot(): string;
  /** Keeps installed packages at their version: the system's own updates never move them. */
  lockPackages(packages: readonly string[]): string;
  unlockPackages(packages: readonly string[]): string;
  /** The file that declares a set of package repositories (the file is the node's, the repositories its owner's). */
  packageRepositoryFile(name: string, repositories: readonly PackageRepository[]): { path: string; content: string };

  daemonReload(): string;
  enableUnit(unit: string): string;
  disableUnit(unit: string, options: { now: boolean }): string;
  /** Starts without waiting for readiness (RKE2's units are Type=notify without a start timeout). */
  startUnit(unit: string): string;
  restartUnit(unit: string): string;
  /** Reloads a running unit without dropping its connections (haproxy). */
  reloadUnit(unit: string): string;
  /** The unit's log messages since `since` (seconds since the epoch, the node's clock), one per line. */
  unitLog(unit: string, since: number): string;

  /**
   * Checks a daemon's configuration file as the daemon would read it, on the node (keepalived
   * resolves interfaces in the node's network namespace); exits non-zero with the tool's message.
   */
  checkConfig(kind: ConfigKind, path: string): string;
  /** Lets a confined daemon bind or connect to these TCP ports (SELinux port type). */
  labelPorts(ports: readonly number[], type: string): string;
  /** Who reboots the node after updates, and, for rebootmgr, inside which window. */
  rebootSetup(setup: RebootSetup): string;
  /** The file kured watches on this distribution (the reboot method writes it). */
  readonly kuredSentinel: string;

  /** A POSIX sh script that prints every fact of `query` in one round trip. */
  factsScript(query: FactsQuery): string;
  /** Parses the script's output; throws `FactsParseError` on output it cannot trust. */
  parseFacts(query: FactsQuery, output: string): NodeFacts;
}

export interface InstallOptions {
  /**
   * Trust the signing keys of repositories added for this install, as served by their (TLS
   * verified) key URLs: install.sh's `--gpg-auto-import-keys`. Without it a non-interactive
   * install refuses a repository whose key the node does not know yet.
   */
  importNewKeys?: boolean;
}

/** One signed package repository. */
export interface PackageRepository {
  id: string;
  name: string;
  baseUrl: string;
  /** The signing key's URL: packages and metadata are checked against it. */
  gpgKey: string;
}

export type RebootSetup =
  | { method: "rebootmgr"; window: RebootWindow; strategy: string }
  | { method: "kured" };

export class FactsParseError extends Error {
  override readonly name = "FactsParseError";
}
