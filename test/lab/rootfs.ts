// The Debian root file system every lab host boots (read-only lower layer of each host's
// overlay). Built once with mmdebstrap and cached under /var/cache/starbase-lab/rootfs-<hash>,
// where the hash covers the suite, the package list and the customize hooks, so a change to any
// of them builds a new one.
// The build runs under flock in a temporary directory that is renamed into place, so test files
// that start at the same time wait for one build instead of colliding.
//
//   bun test/lab/rootfs.ts            builds (or finds) the rootfs and prints its path
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";

export const CACHE_DIR = "/var/cache/starbase-lab";

/** What the hosts run for real (systemd, sshd, the load balancers' daemons) and what tests poke them with. */
export const ROOTFS_PACKAGES = [
  "systemd",
  "systemd-sysv",
  "dbus",
  "openssh-server",
  "passwd",
  "sudo",
  "keepalived",
  "haproxy",
  "etcd-server",
  "etcd-client",
  "openssl",
  "socat",
  "curl",
  "ca-certificates",
  "iproute2",
  "iputils-ping",
  "procps",
  "psmisc",
  "python3",
  "cloud-init",
];

/**
 * Changes made once in the image (run by mmdebstrap with the root file system as $1):
 * - no host keys and no hostname: each host gets its own when it comes up;
 * - sshd offers only the ed25519 key, as cloud-init's ssh_genkeytypes leaves it;
 * - keepalived, haproxy and etcd are installed but not enabled, like packages on MicroOS
 *   (SUSE's presets disable services); starbase enables what it needs;
 * - no timers or waits that need the Internet.
 */
const CUSTOMIZE_HOOKS = [
  'rm -f "$1"/etc/ssh/ssh_host_* "$1/etc/hostname" "$1/etc/machine-id"',
  'printf "HostKey /etc/ssh/ssh_host_ed25519_key\\n" > "$1/etc/ssh/sshd_config.d/10-hostkey.conf"',
  'chroot "$1" systemctl disable keepalived.service haproxy.service etcd.service',
  'chroot "$1" systemctl mask apt-daily.timer apt-daily-upgrade.timer systemd-networkd-wait-online.service e2scrub_all.timer fstrim.timer',
];

const SUITE = "bookworm";

/** The Debian mirror this machine's apt uses (deb822 or one-line sources), else deb.debian.org. */
export function debianMirror(): string {
  const candidates = ["/etc/apt/sources.list", ...listSources("/etc/apt/sources.list.d")];
  for (const file of candidates) {
    if (!existsSync(file)) continue;
    const text = readFileSync(file, "utf8");
    const deb822 = /^URIs:\s*(\S+\/debian)\/?\s*$/m.exec(text);
    if (deb822) return deb822[1]!;
    const oneLine = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+\/debian)\/?\s+/m.exec(text);
    if (oneLine) return oneLine[1]!;
  }
  return "http://deb.debian.org/debian";
}

function listSources(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => name.endsWith(".sources") || name.endsWith(".list"))
    .map((name) => join(dir, name));
}

/** The cache path for today's package list and build recipe. */
export function rootfsPath(): string {
  const recipe = createHash("sha256");
  recipe.update(JSON.stringify({ suite: SUITE, packages: ROOTFS_PACKAGES, hooks: CUSTOMIZE_HOOKS }));
  return join(CACHE_DIR, `rootfs-${recipe.digest("hex").slice(0, 16)}`);
}

/** A built rootfs has systemd and sshd; a half-built one never has its final name. */
function isBuilt(path: string): boolean {
  return existsSync(join(path, "lib/systemd/systemd")) && existsSync(join(path, "usr/sbin/sshd"));
}

/** Builds into path (caller holds the lock): temporary directory, then rename. */
function build(path: string): void {
  if (isBuilt(path)) return;
  for (const name of readdirSync(CACHE_DIR)) {
    // Left over from a build that was killed; only a holder of the lock builds, so none is live.
    if (name.startsWith(`${path.slice(CACHE_DIR.length + 1)}.tmp-`)) rmSync(join(CACHE_DIR, name), { recursive: true, force: true });
  }
  const temporary = `${path}.tmp-${process.pid}`;
  const argv = [
    "mmdebstrap",
    "--quiet",
    "--variant=apt",
    "--mode=root",
    `--include=${ROOTFS_PACKAGES.join(",")}`,
    ...CUSTOMIZE_HOOKS.map((hook) => `--customize-hook=${hook}`),
    SUITE,
    temporary,
    debianMirror(),
  ];
  const result = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0 || !isBuilt(temporary)) {
    rmSync(temporary, { recursive: true, force: true });
    throw new Error(`mmdebstrap failed (${result.exitCode}):\n${result.stderr.toString().slice(-4000)}`);
  }
  renameSync(temporary, path);
}

/**
 * The rootfs path, building it first when the cache lacks it (about a minute; needs the
 * Debian mirror). Safe to call from several processes at once.
 */
export function ensureRootfs(): string {
  const path = rootfsPath();
  if (isBuilt(path)) return path;
  if (!Bun.which("mmdebstrap")) throw new Error("the lab needs mmdebstrap to build its rootfs: apt-get install mmdebstrap");
  mkdirSync(CACHE_DIR, { recursive: true });
  const locked = Bun.spawnSync(["flock", join(CACHE_DIR, ".build.lock"), process.execPath, import.meta.path, "--build-locked"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (locked.exitCode !== 0 || !isBuilt(path)) {
    throw new Error(`building the lab rootfs ${path} failed:\n${locked.stderr.toString().trim()}`);
  }
  return path;
}

if (import.meta.main) {
  if (process.argv[2] === "--build-locked") {
    try {
      build(rootfsPath());
    } catch (error) {
      console.error((error as Error).message);
      process.exit(1);
    }
  } else {
    const started = performance.now();
    const path = ensureRootfs();
    console.log(`${path} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
  }
}
