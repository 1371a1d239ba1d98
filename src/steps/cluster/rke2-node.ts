// One RKE2 node, as every RKE2 family sees it: the release installed and locked, config.yaml, the
// join token (joining nodes), the unit enabled and running, the node Ready. Observed from the
// run's facts; acting installs (then reboots), writes, starts and waits, in that order.
// The node token is read from the first server once per run and only ever travels as file
// content on stdin: it is never part of a command line, a change line, a progress line or an error.
import { createHash } from "node:crypto";
import type { Host } from "../../inventory/types.ts";
import type { NodeFacts } from "../../nodeos/index.ts";
import { RKE2_CONFIG_PATH, RKE2_JOIN_TOKEN_PATH } from "../../render/rke2-config.ts";
import type { ObserveContext } from "../family.ts";
import type { ActContext, Change, Observed } from "../observed.ts";
import { unchanged } from "../observed.ts";
import type { ClusterRun } from "./context.ts";
import { RKE2_KUBECONFIG_PATH, RKE2_NODE_TOKEN_PATH, rke2Package, rke2ReleasePackages, rke2Unit } from "./node-facts.ts";
import { type RebootWait, rebootAndWait } from "./reboot.ts";
import { rancherRepositories, releaseOfRpm, rpmVersion, wantedRelease } from "./rke2-version.ts";

/** The node's own kubectl and admin kubeconfig (servers only). */
export const KUBECTL = `/var/lib/rancher/rke2/bin/kubectl --kubeconfig ${RKE2_KUBECONFIG_PATH}`;
const REPOSITORY_FILE = "rancher-rke2";

export interface Rke2Waits {
  /** How long a started node may take to be Ready. */
  readyTimeoutMs: number;
  reboot: RebootWait;
  pollMs: number;
}

export const DEFAULT_RKE2_WAITS: Rke2Waits = {
  readyTimeoutMs: 15 * 60_000,
  reboot: { timeoutMs: 10 * 60_000, pollMs: 3_000 },
  pollMs: 3_000,
};

export type Rke2NodeKind = "server-first" | "server-rest" | "agents";

export class Rke2NodeError extends Error {
  override readonly name = "Rke2NodeError";
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** The first server's node token, read once per run (a failure is not kept). */
export function joinToken(run: ClusterRun): Promise<string> {
  return run.once("rke2-node-token", async () => {
    const first = run.inv.firstServer;
    const result = await run.ssh(first).exec(`cat ${RKE2_NODE_TOKEN_PATH}`, { description: "read the node token" });
    const token = result.stdout.trim();
    // Neither stdout nor stderr goes into the message: a partial read could hold the token.
    if (result.code !== 0 || token === "") throw new Rke2NodeError(`${first.name}: could not read the node token ${RKE2_NODE_TOKEN_PATH} (exit ${result.code})`);
    return token;
  });
}

/** The Ready condition of every node, as the first server's API sees it; null when it does not answer. */
function nodesReady(run: ClusterRun, fresh: boolean): Promise<Map<string, boolean> | null> {
  const read = async () => {
    const result = await run.ssh(run.inv.firstServer).exec(`${KUBECTL} get nodes -o json`, { description: "list the nodes" });
    if (result.code !== 0) return null;
    const list = JSON.parse(result.stdout) as { items?: Array<{ metadata?: { name?: string }; status?: { conditions?: Array<{ type?: string; status?: string }> } }> };
    return new Map((list.items ?? []).map((node) => [node.metadata?.name ?? "", node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true]));
  };
  return fresh ? read() : run.once("rke2-nodes-ready", read);
}

interface NodeState {
  installed: string | null;
  wanted: string;
  locked: boolean;
  configStale: boolean;
  tokenStale: boolean;
  enabled: boolean;
  active: boolean;
  ready: boolean;
}

async function nodeState(run: ClusterRun, host: Host, kind: Rke2NodeKind, facts: NodeFacts, ctx: ObserveContext): Promise<NodeState> {
  const wanted = await wantedRelease(run);
  const installedRpm = facts.packages.get(rke2Package(host)) ?? null;
  const config = run.files(host).find((file) => file.path === RKE2_CONFIG_PATH);
  if (config === undefined) throw new Rke2NodeError(`internal: render made no ${RKE2_CONFIG_PATH} for ${host.name}`);
  const configFact = facts.files.get(RKE2_CONFIG_PATH) ?? null;
  let tokenStale = false;
  if (kind !== "server-first") {
    const firstFacts = await run.facts(run.inv.firstServer, ctx);
    const tokenFact = facts.files.get(RKE2_JOIN_TOKEN_PATH) ?? null;
    tokenStale = firstFacts.exists.get(RKE2_NODE_TOKEN_PATH) !== true
      || tokenFact === null || tokenFact.mode !== 0o600 || tokenFact.sha256 !== sha256(`${await joinToken(run)}\n`);
  }
  const unit = facts.units.get(rke2Unit(host));
  const active = unit?.active === "active";
  const ready = active ? ((await nodesReady(run, ctx.fresh))?.get(host.name) ?? false) : false;
  return {
    installed: installedRpm === null ? null : releaseOfRpm(installedRpm),
    wanted,
    locked: rke2ReleasePackages(host).every((name) => facts.lockedPackages.has(name)),
    configStale: configFact === null || configFact.sha256 !== sha256(config.content) || configFact.mode !== 0o600,
    tokenStale,
    enabled: unit?.enabled === "enabled",
    active,
    ready,
  };
}

function changes(host: Host, kind: Rke2NodeKind, state: NodeState): Change[] {
  const subject = (what: string) => `${what} on ${host.name}`;
  const out: Change[] = [];
  if (state.installed === null) {
    out.push({ op: "+", subject: subject("RKE2"), field: "version", to: state.wanted, reason: `install ${rke2Package(host)} from Rancher's repository, locked, then reboot` });
  } else if (state.installed !== state.wanted) {
    out.push({ op: "~", subject: subject("RKE2"), field: "version", from: state.installed, to: state.wanted, reason: "runs another release than the spec; starbase does not upgrade yet", informational: true });
  } else {
    out.push(unchanged(subject(`RKE2 ${state.installed}`), "the spec's release"));
  }
  if (state.installed !== null && !state.locked) out.push({ op: "+", subject: subject("package lock"), reason: "keep transactional-update from moving RKE2 to another release" });
  if (state.configStale) out.push({ op: state.installed === null ? "+" : "~", subject: subject(RKE2_CONFIG_PATH), reason: "differs from the rendered file" });
  if (kind !== "server-first" && state.tokenStale) out.push({ op: "+", subject: subject(RKE2_JOIN_TOKEN_PATH), reason: "the first server's node token (0600)" });
  const unit = rke2Unit(host);
  if (!state.enabled) out.push({ op: "+", subject: subject(unit), field: "enabled", reason: "start at boot" });
  if (!state.active) out.push({ op: "+", subject: subject(unit), reason: kind === "server-rest" ? "join through the VIP, then wait for node Ready" : "start, then wait for node Ready" });
  else if (state.configStale || state.tokenStale) out.push({ op: "~", subject: subject(unit), reason: "restart: its configuration changed" });
  else if (!state.ready) out.push({ op: "~", subject: subject(`node ${host.name}`), reason: "running but not Ready: wait for it" });
  return out;
}

/** Polls `probe` until it holds; reports "<what> (N s)"; fails naming host, step and where to look. */
async function waitFor(host: Host, kind: Rke2NodeKind, ctx: ActContext, waits: Rke2Waits, what: string, probe: () => Promise<boolean>): Promise<void> {
  const started = Date.now();
  for (;;) {
    ctx.signal.throwIfAborted();
    const waited = Date.now() - started;
    ctx.report(`${what} (${Math.round(waited / 1000)} s)`);
    if (await probe().catch(() => false)) return;
    if (waited > waits.readyTimeoutMs) {
      const unit = rke2Unit(host);
      throw new Rke2NodeError(
        `${host.name}: ${kind}: gave up ${what} after ${Math.round(waited / 1000)} s; look at the journal of ${unit} on ${host.name} (journalctl -u ${unit})`,
      );
    }
    await Bun.sleep(waits.pollMs);
  }
}

/** Runs `command` on the host; a non-zero exit fails the step with what it was for and the command's own words. */
async function mustRun(run: ClusterRun, host: Host, command: string, what: string, timeoutMs?: number): Promise<void> {
  const result = await run.ssh(host).exec(command, { description: what, ...(timeoutMs === undefined ? {} : { timeoutMs }) });
  if (result.code !== 0) throw new Rke2NodeError(`${host.name}: ${what} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim().split("\n").slice(-3).join(" ")}`);
}

/** transactional-update builds a snapshot: minutes, not the default command limit's seconds. */
const INSTALL_TIMEOUT_MS = 20 * 60_000;

async function install(run: ClusterRun, host: Host, state: NodeState, ctx: ActContext, waits: Rke2Waits): Promise<void> {
  const ssh = run.ssh(host);
  const must = (command: string, what: string) => mustRun(run, host, command, what, INSTALL_TIMEOUT_MS);
  const repository = run.os.packageRepositoryFile(REPOSITORY_FILE, rancherRepositories(run.inv, state.wanted));
  await ssh.put(repository.path, repository.content, { mode: 0o644, createParent: true });
  const packages = rke2ReleasePackages(host);
  // A lock left by an earlier run would make the package manager refuse the install.
  await must(run.os.unlockPackages(packages), "unlock the RKE2 packages");
  ctx.report(`installing RKE2 ${state.wanted}`);
  // Rancher's key is new to the node: trusted as served from its repository's HTTPS URL (install.sh does the same).
  await must(run.os.installPackages(packages.map((name) => `${name}=${rpmVersion(state.wanted)}`), { importNewKeys: true }), `install RKE2 ${state.wanted}`);
  await must(run.os.lockPackages(packages), "lock the RKE2 packages");
  if (run.os.packagesNeedReboot) await rebootAndWait(run, host, ctx, `RKE2 ${state.wanted} becomes active`, waits.reboot);
  const facts = await run.facts(host, { fresh: true });
  const now = facts.packages.get(rke2Package(host)) ?? null;
  if (now === null || releaseOfRpm(now) !== state.wanted) {
    throw new Rke2NodeError(`${host.name}: after the install and reboot ${rke2Package(host)} is ${now ?? "not installed"}, not ${state.wanted}`);
  }
}

/** The observation of one RKE2 node; `apply` brings it to the spec and waits until it is Ready. */
export async function observeRke2Node(run: ClusterRun, host: Host, kind: Rke2NodeKind, ctx: ObserveContext, waits: Rke2Waits): Promise<Observed> {
  const facts = await run.facts(host, ctx);
  const state = await nodeState(run, host, kind, facts, ctx);
  const found = changes(host, kind, state);
  if (found.every((change) => change.op === "=" || change.informational === true)) return { changes: found };
  return {
    changes: found,
    apply: async (act) => {
      const ssh = run.ssh(host);
      const unit = rke2Unit(host);
      if (state.installed === null) await install(run, host, state, act, waits);
      else if (!state.locked) await mustRun(run, host, run.os.lockPackages(rke2ReleasePackages(host)), "lock the RKE2 packages");
      if (kind !== "server-first" && state.tokenStale) {
        await ssh.put(RKE2_JOIN_TOKEN_PATH, `${await joinToken(run)}\n`, { mode: 0o600, createParent: true });
      }
      const config = run.files(host).find((file) => file.path === RKE2_CONFIG_PATH);
      if (state.configStale && config !== undefined) await ssh.put(RKE2_CONFIG_PATH, config.content, { mode: 0o600, createParent: true });
      if (!state.enabled) await mustRun(run, host, run.os.enableUnit(unit), `enable ${unit}`);
      if (!state.active || state.installed === null) await mustRun(run, host, run.os.startUnit(unit), `start ${unit}`);
      // Type=notify without a start timeout: the restart returns once RKE2 is ready again.
      else if (state.configStale || state.tokenStale) await mustRun(run, host, run.os.restartUnit(unit), `restart ${unit}`, waits.readyTimeoutMs);
      if (kind === "server-first") {
        await waitFor(host, kind, act, waits, "waiting for the supervisor's /ping", async () => {
          const ping = await ssh.exec("curl -sk --max-time 5 https://127.0.0.1:9345/ping", { description: "ping the supervisor" });
          return ping.code === 0 && ping.stdout.trim() === "pong";
        });
      }
      await waitFor(host, kind, act, waits, "waiting for node Ready", async () => {
        // Servers ask their own API; an agent has none, so the first server's answers for it.
        const asker = host.role === "server" ? host : run.inv.firstServer;
        const result = await run.ssh(asker).exec(`${KUBECTL} get node ${host.name} -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}'`, { description: "read the node's Ready condition" });
        return result.code === 0 && result.stdout.trim() === "True";
      });
      if (kind === "server-first") await joinToken(run);
    },
  };
}
