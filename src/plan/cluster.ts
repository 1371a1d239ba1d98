// The cluster phase: boot onward, over SSH alone. Opening it needs no Proxmox access and no
// Proxmox credentials: the login is ssh.user with the caller's ssh-agent (the command's
// SSH_AUTH_SOCK) and/or ssh.privateKey, through the ssh.jumpHost chain (verified against
// ssh.knownHosts), and every VM's host key is derived from ssh.hostKeySecret. The run lock is a
// file on the first server, so two cluster-phase runs exclude each other wherever they run.

import { errorMessage } from "../engine/index.ts";
import type { Host } from "../inventory/types.ts";
import { DEFAULT_NODE_OS } from "../nodeos/index.ts";
import { defaultKubeconfigPath } from "../kube/kubeconfig-file.ts";
import { hostKey } from "../render/hostkeys.ts";
import { formatDiagnostic, toDiagnostic } from "../spec/diagnostics.ts";
import { expandPath, SpecReferenceError } from "../spec/references.ts";
import { Credentials } from "../ssh/auth.ts";
import { HostKeyMismatchError, SshError } from "../ssh/errors.ts";
import { jumpChain } from "../ssh/jump.ts";
import { type ConnectRetry, DEFAULT_CONNECT_RETRY, type HostTarget, SshPool } from "../ssh/pool.ts";
import { bootFamily, DEFAULT_BOOT_WAIT_MS } from "../steps/cluster/boot.ts";
import { kubeconfigFamily } from "../steps/cluster/kubeconfig.ts";
import { kuredFamily } from "../steps/cluster/kured.ts";
import { loadBalancerFamily } from "../steps/cluster/loadbalancer.ts";
import { agentsFamily } from "../steps/cluster/rke2-agents.ts";
import { serverFirstFamily } from "../steps/cluster/rke2-server-first.ts";
import { serverRestFamily } from "../steps/cluster/rke2-server-rest.ts";
import { type ClusterRun, createClusterRun } from "../steps/cluster/context.ts";
import { firstServerLock } from "../steps/cluster/lock-file.ts";
import type { StepFamily } from "../steps/family.ts";
import { buildSteps, type PlanStep } from "./graph.ts";
import { readRenderSecrets, readSecret } from "./secrets.ts";
import { type Phase, type RunIdentity, type Session, sessionLock, type ValidCluster } from "./session.ts";
import type { RunSink } from "./walk.ts";

export interface ClusterPhaseOptions {
  /** How long boot waits for a host (SSH, cloud-init, a reboot); default 5 min. */
  bootWaitMs?: number;
}

/**
 * A family whose acting makes the run forget the facts of the host it acted on, so every later
 * step on that host (kured and kubeconfig after server-first) reads what is there now, not what
 * the run read before the change. A step without a host forgets every host's facts.
 */
export function forgettingFactsAfterActing(family: StepFamily<ClusterRun>): StepFamily<ClusterRun> {
  return {
    ...family,
    async observe(run, step, ctx) {
      const observed = await family.observe(run, step, ctx);
      const apply = observed.apply;
      if (apply === undefined) return observed;
      return {
        ...observed,
        async apply(actCtx) {
          try {
            await apply(actCtx);
          } finally {
            run.forgetFacts(step.host);
          }
        },
      };
    },
  };
}

/** The registry: one line per family. */
function clusterFamilies(opts: ClusterPhaseOptions): StepFamily<ClusterRun>[] {
  return ([
    bootFamily(opts.bootWaitMs ?? DEFAULT_BOOT_WAIT_MS),
    loadBalancerFamily,
    serverFirstFamily(),
    serverRestFamily(),
    agentsFamily(),
    kuredFamily,
    kubeconfigFamily,
  ] satisfies StepFamily<ClusterRun>[]).map(forgettingFactsAfterActing);
}

/**
 * The phase's steps that a registered family implements, each without needs on steps outside
 * that set. While a family is missing from the registry its steps (and what only they lead
 * to) are left out instead of failing the run as a bug; with every family registered this is
 * the whole cluster graph.
 */
export function implementedSteps(steps: readonly PlanStep[], families: readonly StepFamily<unknown>[]): PlanStep[] {
  const kinds = new Set(families.flatMap((family) => family.kinds));
  const kept = steps.filter((step) => kinds.has(step.kind));
  const ids = new Set(kept.map((step) => step.id));
  return kept.map((step) => ({ ...step, needs: step.needs.filter((need) => ids.has(need) || !steps.some((s) => s.id === need)) }));
}

/** What to do about an SSH failure, after the failure itself (the summary shows both). */
export function explainSshError(err: unknown): unknown {
  if (!(err instanceof SshError)) return err;
  let todo: string | undefined;
  if (err instanceof HostKeyMismatchError) {
    todo = "check the host key secret: ssh.hostKeySecret must be the one the VM was created with; a VM re-created by someone else, or another machine on its address, presents another key";
  } else if (err.kind === "auth") todo = "check ssh.user and the key: ssh-agent (SSH_AUTH_SOCK) or ssh.privateKey must hold a key listed in ssh.authorizedKeys";
  else if (err.kind === "key") todo = "check ssh.privateKey and ssh.privateKeyPassphrase";
  else if (err.kind === "connect" || err.kind === "jump") todo = "the host does not answer on port 22: check that its VM runs and that this machine (or ssh.jumpHost) reaches it";
  else if (err.kind === "known-hosts") todo = "check ssh.knownHosts (the jump hosts' keys)";
  if (todo === undefined) return err;
  const explained = new SshError(err.host, err.kind, `${err.detail}\n${todo}`, err.retryable);
  explained.name = err.name;
  return explained;
}

export function clusterPhase(opts: ClusterPhaseOptions = {}): Phase<ClusterRun> {
  const families = clusterFamilies(opts);
  return {
    name: "cluster",
    families,
    steps: (run) => implementedSteps(buildSteps(run.inv, { phase: "cluster" }), families),
    // server-rest is a chain in the graph (one join at a time); agents share --concurrency.
    limits: () => ({}),
    explainError: (err) => explainSshError(err),
  };
}

export type ClusterSession = Session<ClusterRun>;

export interface ClusterSessionOptions extends ClusterPhaseOptions {
  who: RunIdentity;
  /** Asks for the private key's passphrase on a terminal; absent: none can be asked. */
  askPassphrase?: (file: string) => Promise<string | undefined>;
  /** How long a host that does not answer is tried again (default: the boot wait). */
  connectRetry?: ConnectRetry;
  /** Where the kubeconfig step writes (`-o PATH`); default `<cluster>.kubeconfig` beside FILE. */
  kubeconfigOut?: string;
}

/** Every VM's target: its address and the host key starbase derived for it. */
function vmTarget(host: Host, cluster: string, secret: string): HostTarget {
  return {
    name: host.name,
    address: host.ip,
    hostKey: { kind: "pinned", publicKeys: [hostKey(secret, cluster, host.name).publicKey], source: "derived from ssh.hostKeySecret" },
  };
}

/** Builds the SSH pool and the run from the spec; reports why not to the sink and returns undefined. */
export function openClusterSession(cluster: ValidCluster, sink: RunSink, opts: ClusterSessionOptions): ClusterSession | undefined {
  const { file, dir, env, inventory } = cluster;
  const spec = inventory.spec;
  let pool: SshPool;
  let run: ClusterRun;
  try {
    const secrets = readRenderSecrets(spec, dir, env);
    const passphraseRef = spec.ssh.privateKeyPassphrase;
    const passphrase = passphraseRef !== undefined
      ? () => Promise.resolve(readSecret(passphraseRef, dir, ["ssh", "privateKeyPassphrase"], env))
      : opts.askPassphrase;
    const agentSocket = env.SSH_AUTH_SOCK;
    const credentials = new Credentials({
      ...(agentSocket !== undefined && agentSocket !== "" && { agentSocket }),
      ...(spec.ssh.privateKey !== undefined && { privateKeyFile: expandPath(spec.ssh.privateKey, dir) }),
      ...(passphrase !== undefined && { passphrase }),
    });
    const bootWaitMs = opts.bootWaitMs ?? DEFAULT_BOOT_WAIT_MS;
    pool = new SshPool({
      user: spec.ssh.user,
      credentials,
      jumpHosts: jumpChain(spec.ssh.jumpHost, spec.ssh.user, { file: expandPath(spec.ssh.knownHosts, dir), acceptNew: spec.ssh.acceptNewHostKeys }),
      connectRetry: opts.connectRetry ?? { ...DEFAULT_CONNECT_RETRY, deadlineMs: bootWaitMs },
    });
    const targets = new Map(inventory.hosts.map((host) => [host.name, pool.host(vmTarget(host, spec.name, secrets.hostKeySecret))]));
    const open = pool;
    run = createClusterRun({
      inv: inventory,
      os: DEFAULT_NODE_OS,
      secrets,
      ssh: (host) => targets.get(host.name)!,
      connectTcp: (address, port, timeoutMs) => open.connectTcp(address, port, timeoutMs),
      openTcp: (address, port, timeoutMs) => open.openTcp(address, port, timeoutMs),
      kubeconfigPath: opts.kubeconfigOut ?? defaultKubeconfigPath(file, spec.name),
    });
  } catch (err) {
    sink.error(err instanceof SpecReferenceError ? formatDiagnostic(toDiagnostic(cluster, err.issue)) : `${file}: ${errorMessage(err)}`);
    return undefined;
  }
  const first = inventory.firstServer;
  const locking = sessionLock(firstServerLock(spec.name, run.ssh(first)), opts.who, sink,
    (err) => `cannot take the run lock on ${first.name} (the first server): ${errorMessage(explainSshError(err))}`);
  const open = pool;
  return {
    inventory,
    phase: clusterPhase(opts),
    run,
    lock: locking.lock,
    async close() {
      try {
        await locking.release();
      } finally {
        open.close();
      }
    },
  };
}
