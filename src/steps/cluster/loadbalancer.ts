// The keepalived + haproxy pair in front of the RKE2 servers (steps lb-first and lb-rest). Each
// load balancer gets the files render gives it, checked on the node by the daemon that reads
// them before they replace the running ones; the SELinux port type haproxy needs; both units
// enabled and running. A changed file reloads its daemon (haproxy keeps its connections,
// keepalived keeps its VRRP state and so the VIP where it is); nothing else restarts anything.
// A step that acted then waits until the VIP answers from starbase's side (through the jump
// chain when there is one) and, once the pair is complete (lb-rest, or lb-first when it is
// alone), until exactly one load balancer holds it.
import { setTimeout as sleep } from "node:timers/promises";
import type { StepNode } from "../../graph/types.ts";
import type { Host } from "../../inventory/types.ts";
import type { ConfigKind, NodeFacts } from "../../nodeos/index.ts";
import { shellQuote } from "../../nodeos/shell.ts";
import { HAPROXY_CFG_PATH } from "../../render/haproxy.ts";
import type { RenderedFile } from "../../render/index.ts";
import { KEEPALIVED_CONF_PATH } from "../../render/keepalived.ts";
import { sha256Hex } from "../../ssh/put.ts";
import { type StepFamily, stepHost } from "../family.ts";
import { type ActContext, type Change, type Observed, unchanged } from "../observed.ts";
import { type ClusterRun, readFacts } from "./context.ts";
import { LOAD_BALANCER_PORTS } from "./node-facts.ts";

const HAPROXY_UNIT = "haproxy.service";
const KEEPALIVED_UNIT = "keepalived.service";
/** haproxy first: keepalived's track script counts a missing haproxy against taking the VIP. */
const UNITS = [HAPROXY_UNIT, KEEPALIVED_UNIT] as const;
/** The files of a load balancer, the daemon that checks each and the unit that reads it. */
const CONFIGS: Record<string, { kind: ConfigKind; unit: (typeof UNITS)[number] }> = {
  [HAPROXY_CFG_PATH]: { kind: "haproxy", unit: HAPROXY_UNIT },
  [KEEPALIVED_CONF_PATH]: { kind: "keepalived", unit: KEEPALIVED_UNIT },
};
const FILE_OWNER = "root:root";
/** The port type haproxy_t may bind and connect to (ops-facts §3.7). */
const HAPROXY_PORT_TYPE = "http_port_t";
/** VRRP settles within 3 adverts plus skew (about 4 s); a started haproxy passes the track script in 4 s. */
const VIP_SETTLE_MS = 30_000;
const VIP_POLL_MS = 500;
const CONNECT_TIMEOUT_MS = 1_000;

/** Units that count as running: a reload in progress is running. */
const RUNNING = new Set(["active", "reloading"]);

interface FileWork {
  file: RenderedFile;
  kind: ConfigKind;
  /** False when only the mode or owner differs: the daemon reads the same text. */
  contentChanged: boolean;
}

interface Work {
  ports: number[];
  files: FileWork[];
  enable: string[];
  start: string[];
  reload: string[];
}

function modeText(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}

function fileChanges(host: Host, file: RenderedFile, facts: NodeFacts): { change: Change; work?: FileWork } {
  const config = CONFIGS[file.path];
  if (config === undefined) throw new Error(`internal: ${host.name}: no load balancer config for ${file.path}`);
  const subject = `${host.name} ${file.path}`;
  const have = facts.files.get(file.path) ?? null;
  if (have === null) return { change: { op: "+", subject, reason: "missing" }, work: { file, kind: config.kind, contentChanged: true } };
  if (have.sha256 !== sha256Hex(file.content)) {
    return { change: { op: "~", subject, reason: "differs from the spec" }, work: { file, kind: config.kind, contentChanged: true } };
  }
  if (have.mode !== file.mode || have.owner !== FILE_OWNER) {
    const from = `${modeText(have.mode)} ${have.owner}`;
    const to = `${modeText(file.mode)} ${FILE_OWNER}`;
    return { change: { op: "~", subject, field: "mode", from, to, reason: file.mode === 0o600 ? "it holds the VRRP password" : "as render gives it" }, work: { file, kind: config.kind, contentChanged: false } };
  }
  return { change: unchanged(subject, "as the spec renders it") };
}

function observeHost(run: ClusterRun, host: Host, facts: NodeFacts): { changes: Change[]; work: Work } {
  const changes: Change[] = [];
  const work: Work = { ports: [], files: [], enable: [], start: [], reload: [] };
  for (const unit of UNITS) {
    if (facts.units.get(unit)?.load !== "loaded") {
      throw new Error(`${host.name}: ${unit} is not installed (LoadState ${facts.units.get(unit)?.load || "unknown"}); the boot step installs keepalived and haproxy`);
    }
  }
  if (facts.selinux === null) throw new Error("internal: the load balancer's facts were read without the SELinux mode");
  if (facts.selinux !== "disabled") {
    for (const port of LOAD_BALANCER_PORTS) {
      const type = facts.selinuxPorts.get(port) ?? null;
      const subject = `${host.name} SELinux port tcp/${port}`;
      if (type === HAPROXY_PORT_TYPE) changes.push(unchanged(subject, HAPROXY_PORT_TYPE));
      else {
        changes.push(type === null
          ? { op: "+", subject, field: "type", to: HAPROXY_PORT_TYPE, reason: "haproxy binds it" }
          : { op: "~", subject, field: "type", from: type, to: HAPROXY_PORT_TYPE, reason: "haproxy binds it" });
        work.ports.push(port);
      }
    }
  }
  for (const file of run.files(host)) {
    const { change, work: fileWork } = fileChanges(host, file, facts);
    changes.push(change);
    if (fileWork !== undefined) work.files.push(fileWork);
  }
  const changedUnits = new Set(work.files.filter((w) => w.contentChanged).map((w) => CONFIGS[w.file.path]!.unit));
  for (const unit of UNITS) {
    const state = facts.units.get(unit)!;
    const subject = `${host.name} ${unit}`;
    if (state.enabled !== "enabled") {
      changes.push({ op: "+", subject: `${subject} enabled`, reason: `is ${state.enabled || "not enabled"}` });
      work.enable.push(unit);
    }
    if (!RUNNING.has(state.active)) {
      changes.push({ op: "+", subject: `${subject} started`, reason: `is ${state.active}` });
      work.start.push(unit);
    } else if (changedUnits.has(unit)) {
      changes.push({ op: "~", subject: `${subject} reloaded`, reason: "its configuration changed" });
      work.reload.push(unit);
    } else if (state.enabled === "enabled") changes.push(unchanged(subject, "enabled, running"));
  }
  return { changes, work };
}

/** Replaces a checked file: the check's output goes to stderr and the temporary file away when it fails. */
function installScript(temporary: string, target: string, check: string): string {
  return [
    "set -u",
    `t=${shellQuote(temporary)}`,
    `if ! out=$(${check}); then rm -f "$t"; printf '%s\\n' "$out" >&2; exit 1; fi`,
    `mv -f "$t" ${shellQuote(target)}`,
    `sync ${shellQuote(target.slice(0, target.lastIndexOf("/")) || "/")}`,
  ].join("\n");
}

/** Beside the target, so the rename stays on one file system; a dot file, which nothing includes. */
function temporaryPath(target: string): string {
  const slash = target.lastIndexOf("/");
  return `${target.slice(0, slash)}/.${target.slice(slash + 1)}.starbase-new`;
}

/** The rendered VRRP password, so that a tool's message quoting the file never shows it. */
function hideSecrets(text: string, files: readonly RenderedFile[]): string {
  let hidden = text;
  for (const file of files) {
    for (const match of file.content.matchAll(/^\s*auth_pass\s+(\S+)/gm)) hidden = hidden.replaceAll(match[1]!, "***");
  }
  return hidden;
}

async function act(run: ClusterRun, step: StepNode, host: Host, work: Work, ctx: ActContext): Promise<void> {
  const ssh = run.ssh(host);
  const must = async (command: string, what: string) => {
    const result = await ssh.exec(command, { description: what });
    if (result.code !== 0) throw new Error(`${host.name} (${step.kind}): ${what} failed (exit ${result.code}): ${hideSecrets((result.stderr || result.stdout).trim(), run.files(host))}`);
  };
  if (work.ports.length > 0) await must(run.os.labelPorts(work.ports, HAPROXY_PORT_TYPE), `label ports ${work.ports.join(", ")} ${HAPROXY_PORT_TYPE}`);
  for (const { file, kind } of work.files) {
    const temporary = temporaryPath(file.path);
    ctx.report(`${host.name}: checking ${file.path} with ${kind}`);
    await ssh.put(temporary, file.content, { mode: file.mode, createParent: true });
    const result = await ssh.exec(installScript(temporary, file.path, run.os.checkConfig(kind, temporary)), { description: `check and install ${file.path}` });
    if (result.code !== 0) {
      const message = hideSecrets(result.stderr.trim(), run.files(host)).replaceAll(temporary, file.path);
      throw new Error(`${host.name} (${step.kind}): ${kind} refused the rendered ${file.path}; the running configuration stays:\n${message}`);
    }
  }
  for (const unit of work.enable) await must(run.os.enableUnit(unit), `enable ${unit}`);
  for (const unit of UNITS) {
    // Not running: start it and wait for the result (a restart of a stopped unit starts it).
    if (work.start.includes(unit)) await must(run.os.restartUnit(unit), `start ${unit}`);
    else if (work.reload.includes(unit)) await must(run.os.reloadUnit(unit), `reload ${unit}`);
  }
}

/**
 * The load balancers of which exactly one must hold the VIP once this step acted: the pair an
 * lb-rest completes, or a lone first LB. lb-first with others to come answers only for the VIP
 * answering (joins need just it); which of the pair holds it is lb-rest's to check.
 */
function vipPeers(run: ClusterRun, step: StepNode, host: Host): Host[] {
  if (step.kind === "lb-rest") return [run.inv.firstLoadBalancer, host];
  return run.inv.loadBalancers.length === 1 ? [host] : [];
}

function describeHolders(vip: string, peers: readonly Host[], holders: readonly Host[]): string {
  const names = (hosts: readonly Host[]) => hosts.map((h) => h.name).join(" and ");
  if (holders.length === 0) return `the VIP ${vip} is held by none of ${peers.map((h) => h.name).join(", ")}`;
  if (holders.length > 1) return `the VIP ${vip} is held by ${names(holders)} at once: their VRRP adverts do not reach each other (firewall, virtual_router_id, unicast peers)`;
  return `the VIP ${vip} is held by ${holders[0]!.name}`;
}

/** Waits until the VIP answers on every port from starbase's side and exactly one of `peers` (if any) holds it. */
async function awaitVip(run: ClusterRun, step: StepNode, host: Host, peers: readonly Host[], ctx: ActContext): Promise<void> {
  const vip = run.inv.spec.loadBalancer.vip;
  const query = { files: [], exists: [], units: [], packages: [], selinuxPorts: [], addresses: [vip] };
  const started = Date.now();
  for (;;) {
    const facts = await Promise.all(peers.map((peer) => readFacts(run.os, run.ssh(peer), query)));
    const holders = peers.filter((_, i) => (facts[i]!.addresses.get(vip) ?? null) !== null);
    const silent: string[] = [];
    for (const port of LOAD_BALANCER_PORTS) {
      await run.connectTcp(vip, port, CONNECT_TIMEOUT_MS).catch((err: Error) => silent.push(`${port} (${err.message})`));
    }
    const held = peers.length === 0 || holders.length === 1;
    if (held && silent.length === 0) return;
    const problems = [
      ...(held ? [] : [describeHolders(vip, peers, holders)]),
      ...(silent.length === 0 ? [] : [`the VIP ${vip} does not answer from here on ${silent.join(", ")}`]),
    ].join("; ");
    const waited = Date.now() - started;
    if (waited > VIP_SETTLE_MS) throw new Error(`${host.name} (${step.kind}): after ${Math.round(waited / 1000)} s ${problems}`);
    ctx.report(`${host.name}: waiting for the VIP ${vip} (${Math.round(waited / 1000)} s): ${problems}`);
    await sleep(VIP_POLL_MS, undefined, { signal: ctx.signal });
  }
}

export const loadBalancerFamily: StepFamily<ClusterRun> = {
  kinds: ["lb-first", "lb-rest"],
  timeoutMs: 180_000,
  async observe(run, step, ctx): Promise<Observed> {
    const host = stepHost(run.inv, step);
    const facts = await run.facts(host, ctx);
    const { changes, work } = observeHost(run, host, facts);
    const peers = vipPeers(run, step, host);
    const hasWork = changes.some((c) => c.op !== "=");
    if (hasWork) {
      return {
        changes,
        async apply(actx) {
          await act(run, step, host, work, actx);
          await awaitVip(run, step, host, peers, actx);
        },
      };
    }
    if (peers.length === 0) return { changes };
    // Nothing to write: what the run read already says who holds the VIP.
    const vip = run.inv.spec.loadBalancer.vip;
    const peerFacts = await Promise.all(peers.map((peer) => run.facts(peer, ctx)));
    const holders = peers.filter((_, i) => (peerFacts[i]!.addresses.get(vip) ?? null) !== null);
    if (holders.length === 1) return { changes: [...changes, unchanged(`VIP ${vip}`, `held by ${holders[0]!.name}`)] };
    return {
      changes: [...changes, { op: "~", subject: `VIP ${vip}`, reason: `${describeHolders(vip, peers, holders)}; wait until VRRP settles` }],
      apply: (actx) => awaitVip(run, step, host, peers, actx),
    };
  },
};
