// The lab of the infra tests: an in-process Proxmox emulator with the example's three nodes, a
// local HTTP server for image.checksumUrl, examples/cluster.yaml patched to point at both, and
// the real CLI (`bun src/main.ts`) run as a subprocess against them. The emulator samples the
// VMs for /cluster/resources every 10 s, as pvestatd does: most tests end before a second
// sample, so the VMs they create never show a name or status there.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseDocument } from "yaml";
import { ApiClient, tokenHeader } from "../emulator/client.ts";
import { DEFAULT_TOKEN, type EmulatorOptions } from "../emulator/options.ts";
import type { RequestLogEntry } from "../emulator/request-log.ts";
import { ApiSchema, schemaFileFor } from "../emulator/schema.ts";
import { type Emulator, startEmulator } from "../emulator/server.ts";
import { LOG_DIR } from "./request-logs.ts";

export const repo = join(import.meta.dir, "..", "..");
export const exampleFile = join(repo, "examples", "cluster.yaml");
export const NODES = ["node01", "node02", "node03"];
export const IMAGE_URL = "https://download.opensuse.org/tumbleweed/appliances/openSUSE-MicroOS.x86_64-OpenStack-Cloud.qcow2";
export const IMAGE = { size: 734_003_200, sha256: "5d".repeat(32), virtualSize: 10 * 2 ** 30 };
export const HOSTKEY_SECRET = "infra-test-host-key-secret-7f3a-5c2e91d4";
export { LOG_DIR };

/** The PVE releases starbase supports; every request it sends must be valid for each. */
export const SCHEMAS = ["9.1", "8.4"].map((release) => ({ release, schema: ApiSchema.load(schemaFileFor(release)) }));

/** Requests that are not valid calls of PVE 9.1 and 8.4: unknown method or path, or parameters the schema rejects. */
export function schemaViolations(entries: readonly RequestLogEntry[]): string[] {
  const problems: string[] = [];
  for (const entry of entries) {
    for (const { release, schema } of SCHEMAS) {
      const match = schema.match(entry.method, entry.path);
      if (match?.info === undefined) {
        problems.push(`${release}: ${entry.method} ${entry.path}: no such API method`);
        continue;
      }
      const params = { ...entry.params, ...match.pathParams };
      const errors = schema.validate(match.info, params);
      if (Object.keys(errors).length > 0) problems.push(`${release}: ${entry.method} ${entry.path}: ${JSON.stringify(errors)}`);
    }
  }
  return problems;
}

export interface Lab {
  emu: Emulator;
  dir: string;
  specFile: string;
  env: Record<string, string>;
  checksumUrl: string;
  /** Rewrites the spec file; `edit` gets the parsed YAML document. */
  editSpec(edit: (doc: ReturnType<typeof parseDocument>) => void): void;
  stop(): Promise<void>;
}

let labs = 0;

export interface LabOptions {
  emulator?: EmulatorOptions;
  /** Token the spec uses (default: the emulator's default token). */
  tokenSecret?: string;
}

export async function startLab(opts: LabOptions = {}): Promise<Lab> {
  mkdirSync(LOG_DIR, { recursive: true });
  const dir = mkdtempSync(join(tmpdir(), "starbase-infra-"));
  const logFile = join(LOG_DIR, `${process.pid}-${Date.now()}-${labs++}.jsonl`);
  const emu = await startEmulator({
    nodes: NODES,
    taskMs: 0,
    lockScale: 0.01,
    authFailureDelayMs: 0,
    notice: () => {},
    requestLogFile: logFile,
    published: { [IMAGE_URL]: IMAGE },
    ...opts.emulator,
  });
  const checksums = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch: () => new Response(`${IMAGE.sha256}  openSUSE-MicroOS.x86_64-OpenStack-Cloud.qcow2\n`),
  });
  const checksumUrl = `http://127.0.0.1:${checksums.port}/openSUSE-MicroOS.x86_64-OpenStack-Cloud.qcow2.sha256`;
  const specFile = join(dir, "cluster.yaml");
  const doc = parseDocument(readFileSync(exampleFile, "utf8"));
  doc.setIn(["proxmox", "endpoint"], emu.url);
  doc.setIn(["proxmox", "tokenId"], DEFAULT_TOKEN.id);
  doc.setIn(["proxmox", "tls"], doc.createNode({ fingerprint: emu.fingerprint }));
  doc.setIn(["image", "checksumUrl"], checksumUrl);
  writeFileSync(specFile, doc.toString());
  const lab: Lab = {
    emu,
    dir,
    specFile,
    checksumUrl,
    env: { PVE_TOKEN_SECRET: opts.tokenSecret ?? DEFAULT_TOKEN.secret, STARBASE_HOSTKEY_SECRET: HOSTKEY_SECRET },
    editSpec(edit) {
      const current = parseDocument(readFileSync(specFile, "utf8"));
      edit(current);
      writeFileSync(specFile, current.toString());
    },
    async stop() {
      await emu.idle();
      await emu.stop();
      checksums.stop(true);
      rmSync(dir, { recursive: true, force: true });
      // Every lab re-checks its own log, so no test can send a request PVE would not accept.
      const problems = schemaViolations(emu.requestLog);
      if (problems.length > 0) throw new Error(`requests outside the PVE API schema:\n${problems.join("\n")}`);
    },
  };
  return lab;
}

export interface RunResult {
  rc: number | null;
  stdout: string;
  stderr: string;
}

/** The environment of the test process without colour settings, plus `extra`. */
export function childEnv(extra: Record<string, string>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (value !== undefined && !["NO_COLOR", "FORCE_COLOR", "PVE_TOKEN_SECRET", "STARBASE_HOSTKEY_SECRET"].includes(key)) env[key] = value;
  }
  return { ...env, ...extra };
}

/** Starts the CLI without waiting (the emulator runs in this process, so never spawnSync). */
export function spawnStarbase(lab: Lab, args: string[], env: Record<string, string> = {}) {
  return Bun.spawn([process.execPath, join(repo, "src", "main.ts"), ...args], {
    cwd: lab.dir,
    env: childEnv({ ...lab.env, ...env }),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
}

export async function starbase(lab: Lab, args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  const proc = spawnStarbase(lab, args, env);
  const [stdout, stderr, rc] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { rc, stdout, stderr };
}

export const applyInfra = (lab: Lab, ...extra: string[]) => starbase(lab, ["apply", lab.specFile, "--phase", "infra", ...extra]);

export function mutating(entries: readonly RequestLogEntry[]): RequestLogEntry[] {
  return entries.filter((e) => e.method !== "GET");
}

/**
 * What a run leaves behind, comparable across runs: VMs with their config (without digests,
 * MACs, generated ids), and every volume. Independent of timing and of faults.
 */
export function endState(emu: Emulator): unknown {
  const vms = [...emu.state.vms.values()]
    .sort((a, b) => a.vmid - b.vmid)
    .map((vm) => {
      const config = Object.fromEntries(
        Object.entries(vm.config)
          .filter(([key]) => !["digest", "meta", "vmgenid", "smbios1"].includes(key))
          .map(([key, value]) => [key, /^net\d+$/.test(key) ? value.replace(/=([0-9A-F]{2}:){5}[0-9A-F]{2}/i, "=<mac>") : value]),
      );
      return { vmid: vm.vmid, node: vm.node, running: vm.running, config };
    });
  const volumes = emu.state.volumes
    .map((v) => ({ volid: v.volid, node: v.node, content: v.content, format: v.format, size: v.size, vmid: v.vmid }))
    .sort((a, b) => `${a.node}/${a.volid}`.localeCompare(`${b.node}/${b.volid}`));
  return { vms, volumes };
}

/** What an operator does in the web UI: stop the VM and start it again (a new QEMU takes pending changes in). */
export async function restartVm(lab: Lab, node: string, vmid: number): Promise<void> {
  const api = new ApiClient(lab.emu, tokenHeader(DEFAULT_TOKEN.id, DEFAULT_TOKEN.secret));
  for (const action of ["stop", "start"]) {
    const { status } = await api.run("POST", `/nodes/${node}/qemu/${vmid}/status/${action}`);
    if (status.exitstatus !== "OK") throw new Error(`${action} of VM ${vmid} failed: ${String(status.exitstatus)}`);
  }
}
