// Command line entry of the Proxmox VE emulator:
//   bun test/emulator/main.ts --port PORT --nodes n1,n2 --token USER@REALM!ID=SECRET --request-log FILE
//     [--faults RATE --seed N] [--task-ms MS] [--state FILE] [--version 9.1|9.2|8.4] …
// The first stdout line is "listening on https://127.0.0.1:PORT fingerprint XX:…"; it serves until
// SIGTERM or SIGINT.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import {
  type ContainerSpec,
  FAULT_KINDS,
  INSTALLERS,
  type DatacenterSettings,
  type EmulatorOptions,
  type FaultKind,
  type StorageSpec,
  type TokenSpec,
  type UpstreamFile,
  parseTokenArgument,
} from "./options.ts";
import { startEmulator } from "./server.ts";
import { datacenterConfig } from "./tag-access.ts";

const USAGE = `usage: bun test/emulator/main.ts [options]
  --port PORT                 listen on 127.0.0.1:PORT (0 = any free port; default 8006)
  --nodes n1,n2,…             cluster node names (default pve1)
  --token USER@REALM!ID=SECRET   accepted API token (repeatable)
  --privileges P1,/path:P2    privileges of the --token tokens (default: all)
  --request-log FILE          append every request as a JSON line
  --state FILE                load state from FILE and save it on every change
  --version 9.1|9.2|8.4       emulated PVE release (default 9.1)
  --schema FILE|none          API schema extract (default: pve-schema/ of --version; none = no checks)
  --task-ms MS                duration of a task (default 1000)
  --lock-scale F              multiplier of lock and proxy timeouts (default 1)
  --auth-delay-ms MS          delay of 401 answers (default 3000)
  --agent-delay-ms MS         time from VM start until the guest agent answers (default 0)
  --faults RATE --seed N      RATE: probability (0..1) that a request gets a fault; the fault's kind
                              is drawn, equally likely, from the kinds that can hit that request
                              (a GET only timeout596 or drop); N seeds the draws
  --fault-kinds k1,k2         the kinds --faults spreads over (default all): ${FAULT_KINDS.join(", ")}
  --storage-config JSON|@FILE storages of every node (JSON array; default: the installer's for --version)
  --installer lvm|zfs|btrfs   root file system of the installed nodes, which decides the default
                              storages: local + local-lvm, local-zfs or local-btrfs (default lvm)
  --sample-ms MS              pvestatd's sampling interval behind /cluster/resources (default 10000;
                              0 = no lag)
  --user-tag-access VALUE     datacenter.cfg user-tag-access, e.g. 'user-allow=list,user-allow-list=a;b'
  --registered-tags 'a;b'     datacenter.cfg registered-tags
  --publish URL=SIZE:SHA256[:VIRTUALSIZE]   offer a file to download-url (repeatable)
  --container VMID:NODE:NAME  an LXC container holding that VMID, running (repeatable; fresh state only)`;

function fail(message: string): never {
  console.error(`${message}\n${USAGE}`);
  process.exit(2);
}

function number(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) fail(`--${name}: not a non-negative number: ${text}`);
  return value;
}

function publishedFile(argument: string): [string, UpstreamFile] {
  const split = argument.lastIndexOf("=");
  const [size, sha256, virtualSize] = argument.slice(split + 1).split(":");
  if (split <= 0 || !size || !/^\d+$/.test(size) || !sha256 || !/^[0-9a-fA-F]{64}$/.test(sha256)) {
    fail(`--publish: expected URL=SIZE:SHA256[:VIRTUALSIZE], got ${argument}`);
  }
  const file: UpstreamFile = { size: Number(size), sha256: sha256.toLowerCase() };
  if (virtualSize !== undefined) file.virtualSize = Number(virtualSize);
  return [argument.slice(0, split), file];
}

function container(argument: string): ContainerSpec {
  const [vmid = "", node = "", name = ""] = argument.split(":");
  if (!/^[1-9]\d{2,8}$/.test(vmid) || node === "" || name === "") fail(`--container: expected VMID:NODE:NAME, got ${argument}`);
  return { vmid: Number(vmid), node, name, running: true };
}

function storageConfig(argument: string): StorageSpec[] {
  const text = argument.startsWith("@") ? readFileSync(argument.slice(1), "utf8") : argument;
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed) || !parsed.every((item) => typeof item?.id === "string" && typeof item?.type === "string" && Array.isArray(item?.content))) {
    fail("--storage-config: expected a JSON array of {id, type, content: [...], path?, shared?, nodes?, disabled?}");
  }
  return parsed as StorageSpec[];
}

function options(argv: string[]): EmulatorOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      nodes: { type: "string" },
      token: { type: "string", multiple: true },
      privileges: { type: "string" },
      "request-log": { type: "string" },
      state: { type: "string" },
      version: { type: "string" },
      schema: { type: "string" },
      "task-ms": { type: "string" },
      "lock-scale": { type: "string" },
      "auth-delay-ms": { type: "string" },
      "agent-delay-ms": { type: "string" },
      faults: { type: "string" },
      "fault-kinds": { type: "string" },
      seed: { type: "string" },
      "storage-config": { type: "string" },
      installer: { type: "string" },
      "sample-ms": { type: "string" },
      "user-tag-access": { type: "string" },
      "registered-tags": { type: "string" },
      publish: { type: "string", multiple: true },
      container: { type: "string", multiple: true },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  if (values.version !== undefined && !/^\d+\.\d+$/.test(values.version)) fail(`--version: expected MAJOR.MINOR, got ${values.version}`);
  const privileges = values.privileges?.split(",").filter((entry) => entry !== "");
  let tokens: TokenSpec[] | undefined;
  try {
    tokens = values.token?.map((argument) => ({ ...parseTokenArgument(argument), ...(privileges ? { privileges } : {}) }));
  } catch (error) {
    fail((error as Error).message);
  }
  const installer = INSTALLERS.find((name) => name === values.installer);
  if (values.installer !== undefined && installer === undefined) fail(`--installer: expected one of ${INSTALLERS.join(", ")}, got ${values.installer}`);
  const datacenter: DatacenterSettings = {};
  if (values["user-tag-access"] !== undefined) datacenter["user-tag-access"] = values["user-tag-access"];
  if (values["registered-tags"] !== undefined) datacenter["registered-tags"] = values["registered-tags"];
  try {
    datacenterConfig(datacenter);
  } catch (error) {
    fail(`--user-tag-access: ${(error as Error).message}`);
  }
  const rate = number(values.faults, "faults") ?? 0;
  if (rate > 1) fail(`--faults: a probability between 0 and 1, got ${values.faults}`);
  const kinds = (values["fault-kinds"]?.split(",") ?? FAULT_KINDS) as FaultKind[];
  const unknownKind = kinds.find((kind) => !FAULT_KINDS.includes(kind));
  if (unknownKind) fail(`--fault-kinds: unknown kind ${unknownKind}`);
  return {
    port: number(values.port, "port") ?? 8006,
    nodes: values.nodes?.split(",").filter((node) => node !== ""),
    tokens,
    requestLogFile: values["request-log"],
    stateFile: values.state,
    version: values.version,
    schemaFile: values.schema === "none" ? null : values.schema,
    taskMs: number(values["task-ms"], "task-ms") ?? 1000,
    lockScale: number(values["lock-scale"], "lock-scale"),
    authFailureDelayMs: number(values["auth-delay-ms"], "auth-delay-ms") ?? 3000,
    agentDelayMs: number(values["agent-delay-ms"], "agent-delay-ms"),
    faults: {
      seed: number(values.seed, "seed") ?? 1,
      rate,
      kinds,
    },
    storages: values["storage-config"] === undefined ? undefined : storageConfig(values["storage-config"]),
    installer,
    sampleMs: number(values["sample-ms"], "sample-ms"),
    datacenter,
    published: values.publish ? Object.fromEntries(values.publish.map(publishedFile)) : undefined,
    containers: values.container?.map(container),
  };
}

let parsed: EmulatorOptions;
try {
  parsed = options(process.argv.slice(2));
} catch (error) {
  fail((error as Error).message);
}
const emulator = await startEmulator(parsed);
console.log(`listening on ${emulator.url} fingerprint ${emulator.fingerprint}`);

async function shutdown(): Promise<void> {
  await emulator.stop();
  process.exit(0);
}
process.on("SIGTERM", () => void shutdown());
process.on("SIGINT", () => void shutdown());
