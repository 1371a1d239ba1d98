// A network namespace with named interfaces, for tools that check interfaces against the
// namespace they run in (keepalived -t). Tests create one per file and destroy it in afterAll.
// Each interface is one end of a veth pair whose other end stays in the namespace too: the
// kernel here has no dummy driver, and veth needs no module beyond what netns tests need anyway.

/** The only addresses lab hosts and clients use (RFC 2544 benchmarking range). */
export const LAB_RANGE = "198.18.0.0/15";

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv to completion, capturing its output. */
export function run(argv: string[]): CommandResult {
  const result = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: result.exitCode ?? -1, stdout: result.stdout.toString(), stderr: result.stderr.toString() };
}

/** Runs argv; a non-zero exit throws with its stderr. */
export function runOrThrow(argv: string[]): void {
  const result = run(argv);
  if (result.code !== 0) throw new Error(`${argv.join(" ")} failed (${result.code}): ${result.stderr.trim()}`);
}

/**
 * Keeps traffic to the lab range from ever leaving the machine through the root namespace's
 * default route. The route stays in place (other lab users rely on it too).
 */
export function ensureLabRangeUnreachable(): void {
  const result = run(["ip", "route", "add", "unreachable", LAB_RANGE]);
  if (result.code !== 0 && !result.stderr.includes("File exists")) {
    throw new Error(`ip route add unreachable ${LAB_RANGE} failed: ${result.stderr.trim()}`);
  }
}

export interface NetnsInterface {
  name: string;
  /** Optional address with prefix, inside 198.18.0.0/15. */
  address?: string;
}

export interface Netns {
  name: string;
  /** Runs a command inside the namespace. */
  exec(argv: string[]): CommandResult;
  destroy(): void;
}

let created = 0;

/**
 * Creates namespace `<prefix>-<pid>-<n>` with the given interfaces up (and loopback up).
 * The prefix names the test area so that parallel test files never collide.
 */
export function createNetns(prefix: string, interfaces: NetnsInterface[]): Netns {
  ensureLabRangeUnreachable();
  const name = `${prefix}-${process.pid}-${++created}`;
  runOrThrow(["ip", "netns", "add", name]);
  const netns: Netns = {
    name,
    exec: (argv) => run(["ip", "netns", "exec", name, ...argv]),
    destroy: () => {
      const result = run(["ip", "netns", "delete", name]);
      if (result.code !== 0 && !result.stderr.includes("No such file")) {
        throw new Error(`ip netns delete ${name} failed: ${result.stderr.trim()}`);
      }
    },
  };
  try {
    runOrThrow(["ip", "-n", name, "link", "set", "lo", "up"]);
    for (const [i, iface] of interfaces.entries()) {
      const peer = `sbpeer${i}`;
      runOrThrow(["ip", "-n", name, "link", "add", iface.name, "type", "veth", "peer", "name", peer]);
      runOrThrow(["ip", "-n", name, "link", "set", peer, "up"]);
      if (iface.address !== undefined) runOrThrow(["ip", "-n", name, "address", "add", iface.address, "dev", iface.name]);
      runOrThrow(["ip", "-n", name, "link", "set", iface.name, "up"]);
    }
  } catch (error) {
    netns.destroy();
    throw error;
  }
  return netns;
}
