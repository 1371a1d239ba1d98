// SELinux stand-ins: getenforce answers Enforcing (as MicroOS does); semanage port keeps a
// port-type table (a few entries of the targeted policy plus local changes) with semanage's
// rules: -a fails on a port that already has a type, -m needs one, -d removes only local entries.
// Nothing is enforced: the lab's kernel has no SELinux.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

interface PortEntry {
  type: string;
  proto: string;
  port: string;
}

const LOCAL_FILE = "/var/lib/starbase-lab/selinux-ports.json";

/** A few port types of the targeted policy that the load balancers meet. */
const POLICY: PortEntry[] = [
  { type: "http_port_t", proto: "tcp", port: "80" },
  { type: "http_port_t", proto: "tcp", port: "443" },
  { type: "http_port_t", proto: "tcp", port: "8008" },
  { type: "http_port_t", proto: "tcp", port: "8443" },
  { type: "ssh_port_t", proto: "tcp", port: "22" },
  { type: "kubernetes_port_t", proto: "tcp", port: "10250" },
];

function readLocal(): PortEntry[] {
  return existsSync(LOCAL_FILE) ? (JSON.parse(readFileSync(LOCAL_FILE, "utf8")) as PortEntry[]) : [];
}

function writeLocal(entries: PortEntry[]): void {
  mkdirSync(dirname(LOCAL_FILE), { recursive: true });
  writeFileSync(LOCAL_FILE, `${JSON.stringify(entries, null, 2)}\n`);
}

export function getenforce(): number {
  console.log("Enforcing");
  return 0;
}

export function semanage(argv: string[]): number {
  const [object, ...args] = argv;
  if (object !== "port") {
    console.error(`semanage: the lab stand-in models 'port' only, not '${object ?? ""}'`);
    return 1;
  }
  let action: "a" | "m" | "d" | "l" | undefined;
  let type: string | undefined;
  let proto: string | undefined;
  let noHeading = false;
  let localOnly = false;
  const ports: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (["-a", "--add"].includes(arg)) action = "a";
    else if (["-m", "--modify"].includes(arg)) action = "m";
    else if (["-d", "--delete"].includes(arg)) action = "d";
    else if (["-l", "--list"].includes(arg)) action = "l";
    else if (["-n", "--noheading"].includes(arg)) noHeading = true;
    else if (["-C", "--locallist"].includes(arg)) localOnly = true;
    else if (["-t", "--type"].includes(arg)) type = args[++i];
    else if (["-p", "--proto"].includes(arg)) proto = args[++i];
    else if (arg.startsWith("-")) {
      console.error(`semanage port: option ${arg} is not modelled by the lab stand-in`);
      return 1;
    } else ports.push(arg);
  }
  const local = readLocal();
  if (action === "l") {
    const entries = localOnly ? local : [...POLICY.filter((p) => !local.some((l) => l.proto === p.proto && l.port === p.port)), ...local];
    if (!noHeading) console.log("SELinux Port Type              Proto    Port Number\n");
    const byType = new Map<string, string[]>();
    for (const entry of entries) byType.set(`${entry.type}\t${entry.proto}`, [...(byType.get(`${entry.type}\t${entry.proto}`) ?? []), entry.port]);
    for (const [key, list] of byType) {
      const [t, p] = key.split("\t");
      console.log(`${t!.padEnd(31)}${p!.padEnd(9)}${list.join(", ")}`);
    }
    return 0;
  }
  if (action === undefined) {
    console.error("semanage port: one of -a, -m, -d, -l is required");
    return 1;
  }
  const port = ports[0];
  if (proto === undefined || port === undefined || !/^\d+(-\d+)?$/.test(port)) {
    console.error("semanage port: -p PROTO and a port number are required");
    return 1;
  }
  const inLocal = local.findIndex((entry) => entry.proto === proto && entry.port === port);
  const inPolicy = POLICY.some((entry) => entry.proto === proto && entry.port === port);
  if (action === "a" || action === "m") {
    if (type === undefined) {
      console.error("ValueError: SELinux Type is required");
      return 1;
    }
    if (action === "a" && (inLocal >= 0 || inPolicy)) {
      console.error(`ValueError: Port ${proto}/${port} already defined`);
      return 1;
    }
    if (action === "m" && inLocal < 0 && !inPolicy) {
      console.error(`ValueError: Port ${proto}/${port} is not defined`);
      return 1;
    }
    const next = local.filter((_, i) => i !== inLocal);
    next.push({ type, proto, port });
    writeLocal(next);
    return 0;
  }
  if (inLocal < 0) {
    console.error(inPolicy ? `ValueError: Port ${proto}/${port} is defined in policy, cannot be deleted` : `ValueError: Port ${proto}/${port} is not defined`);
    return 1;
  }
  writeLocal(local.filter((_, i) => i !== inLocal));
  return 0;
}
