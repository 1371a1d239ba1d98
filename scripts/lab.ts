// `npm run lab -- …` (as root): real lab hosts for a spec, for checks that run outside bun test.
//
//   npm run lab -- up FILE --dir DIR [--ready-after MS]
//       One lab host per host of FILE (its addresses, which must lie in 198.18.0.0/15), the
//       spec's gateway on the bridge, a control namespace. Each host comes up as the infra phase
//       leaves a VM: from what `starbase render FILE` writes for it (so the spec's hostKeySecret
//       must be set). The last stdout line is JSON:
//       {"ready": true, "hosts": N, "exec": ["ip", "netns", "exec", "<control namespace>"]}
//   npm run lab -- exec --dir DIR HOST -- CMD…   runs CMD inside HOST, exits with its status
//   npm run lab -- down --dir DIR                removes every namespace, process, mount and file
//
// The library behind it is test/lab/lab.ts (topologies of any shape, e.g. jump hosts).
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { parse } from "yaml";
import { labDown, labUp, openLab, type LabHost, type LabTopology } from "../test/lab/lab.ts";

const repositoryRoot = resolve(import.meta.dir, "..");
const USAGE = `usage: npm run lab -- up FILE --dir DIR [--ready-after MS]
       npm run lab -- exec --dir DIR HOST -- CMD...
       npm run lab -- down --dir DIR`;

class UsageError extends Error {}

interface PlannedHost {
  name: string;
  role: "loadbalancer" | "server" | "agent";
  ip: string;
}

/** Runs starbase from source; its diagnostics go to our stderr as they are. */
function starbase(args: string[]): string {
  const result = Bun.spawnSync([process.execPath, join(repositoryRoot, "src/main.ts"), ...args], { cwd: process.cwd(), stdout: "pipe", stderr: "pipe" });
  if (result.exitCode !== 0) {
    process.stderr.write(result.stderr);
    throw new Error(`starbase ${args[0]} failed (exit ${result.exitCode})`);
  }
  return result.stdout.toString();
}

/** The lab topology of a spec: one network (the spec's), one host per spec host, user-data from `starbase render`. */
export function specTopology(file: string, dir: string, readyAfterMs: number): LabTopology {
  const spec = parse(readFileSync(file, "utf8")) as {
    ssh?: { jumpHost?: string };
    network?: { cidr?: string; gateway?: string; interface?: string };
    loadBalancer?: { vip?: string };
  };
  if (spec.ssh?.jumpHost !== undefined) {
    throw new Error(
      `${file}: ssh.jumpHost is set; the lab of a spec is one flat network that the control side reaches directly. ` +
        "Build a jump topology with the library (test/lab/lab.ts: a control network that only the jump host is on).",
    );
  }
  const renderDir = join(dir, "render");
  starbase(["render", file, "--out", renderDir, "--output", "json"]);
  const plan = JSON.parse(starbase(["plan", file, "--offline", "--output", "json"]).trim().split("\n").at(-1)!) as { hosts: PlannedHost[] };
  const network = { name: "cluster", cidr: spec.network?.cidr ?? "", ...(spec.network?.gateway ? { gateway: spec.network.gateway } : {}) };
  const ips = (role: PlannedHost["role"]) => plan.hosts.filter((host) => host.role === role).map((host) => host.ip);
  const hosts: LabHost[] = plan.hosts.map((host) => ({
    name: host.name,
    nics: [{ network: "cluster", ip: host.ip, interface: spec.network?.interface ?? "ens18" }],
    userData: readFileSync(join(renderDir, host.name, "cidata", "user-data"), "utf8"),
    metaData: readFileSync(join(renderDir, host.name, "cidata", "meta-data"), "utf8"),
    info: {
      role: host.role,
      ip: host.ip,
      vip: spec.loadBalancer?.vip ?? null,
      loadBalancers: ips("loadbalancer"),
      servers: ips("server"),
      firstServer: ips("server")[0] ?? null,
      readyAfterMs,
    },
  }));
  return { networks: [network], hosts, control: [{ network: "cluster" }] };
}

function option(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  if (at < 0) return undefined;
  const value = args[at + 1];
  if (value === undefined || value.startsWith("--")) throw new UsageError(`${name} needs a value`);
  args.splice(at, 2);
  return value;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const dashes = rest.indexOf("--");
  const args = dashes < 0 ? rest : rest.slice(0, dashes);
  const trailing = dashes < 0 ? [] : rest.slice(dashes + 1);
  const dir = option(args, "--dir");
  if (dir === undefined) throw new UsageError("--dir DIR is required");
  if (process.getuid?.() !== 0) throw new Error("lab: needs root (network namespaces, overlay mounts, systemd-nspawn)");
  if (command === "up") {
    const readyAfter = Number(option(args, "--ready-after") ?? "1000");
    if (args.length !== 1 || !Number.isInteger(readyAfter) || readyAfter < 0) throw new UsageError("up takes one FILE");
    const started = performance.now();
    let lab;
    try {
      lab = await labUp(dir, specTopology(args[0]!, resolve(dir), readyAfter));
    } catch (error) {
      // The rendered files (private host keys) go too.
      await labDown(dir);
      throw error;
    }
    console.error(`lab up: ${lab.state.hosts.length} hosts in ${((performance.now() - started) / 1000).toFixed(1)} s; down with: npm run lab -- down --dir ${dir}`);
    console.log(JSON.stringify({ ready: true, hosts: lab.state.hosts.length, exec: lab.controlExec }));
    return 0;
  }
  if (command === "exec") {
    if (args.length !== 1 || trailing.length === 0) throw new UsageError("exec takes HOST -- CMD...");
    const child = Bun.spawn(openLab(dir).execArgv(args[0]!, trailing), { stdio: ["inherit", "inherit", "inherit"] });
    return await child.exited;
  }
  if (command === "down") {
    if (args.length !== 0) throw new UsageError("down takes no operands");
    await labDown(dir);
    return 0;
  }
  throw new UsageError(command === undefined ? "a command is required" : `unknown command ${command}`);
}

if (import.meta.main) {
  try {
    process.exit(await main(process.argv.slice(2)));
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`lab: ${error.message}\n${USAGE}`);
      process.exit(64);
    }
    console.error((error as Error).message);
    process.exit(1);
  }
}
