// `rke2 server`: the first server starts a new etcd cluster and generates the cluster CAs and the
// token; a joining server asks the supervisor at its server: URL for the CAs and etcd's members and
// adds itself to etcd as a learner (k3s pkg/etcd/etcd.go join → MemberAddAsLearner); the etcd
// leader's server promotes learners once etcd lets it (k3s manageLearners, every 15 s). A server
// whose etcd data exists restarts from it and ignores server: (docs/install/ha.md). The unit is
// ready (sd_notify) once the API serves and the local etcd member votes, as k3s's server command
// waits for APIServerReady and ETCDReady before READY=1.

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, chmodSync } from "node:fs";
import { dirname } from "node:path";
import { Api, HELMCHART_PREFIX, MEMBER_ADDRESS_ANNOTATION, MEMBER_NAME_ANNOTATION } from "./apiserver.ts";
import { fetchClusterCA, JoinError, supervisorGet } from "./client.ts";
import type { Rke2Config } from "./config.ts";
import { clientURL, EtcdClient, peerURL, startEtcd, type Member } from "./etcd.ts";
import type { LabHost } from "./host.ts";
import { serve } from "./http.ts";
import { runKubelet } from "./kubelet.ts";
import { readManifestDir } from "./manifests.ts";
import { sdNotify } from "./notify.ts";
import {
  AGENT_TOKEN_FILE, BIN_DIR, ETCD_DIR, KUBECONFIG_FILE, KUBECTL_CANDIDATES, MANIFESTS_DIR, NODE_TOKEN_FILE, SERVER_DIR,
  HELMCHART_REFUSAL_FILE, TLS_DIR, TOKEN_FILE, rooted,
} from "./paths.ts";
import { createCA, issueCert, readKeyPair, writeKeyPair, type KeyPair } from "./pki.ts";
import { log, record } from "./records.ts";
import { supervisorHandler, type BootstrapData } from "./supervisor.ts";
import { formatToken, hashCA, parseToken } from "./token.ts";

const LEARNER_CHECK_MS = 15_000;
const MANIFEST_SCAN_MS = 5_000;
const CRED_FILE = `${SERVER_DIR}/cred/stand-in.json`;

const tls = (name: string) => ({ cert: rooted(`${TLS_DIR}/${name}.crt`), key: rooted(`${TLS_DIR}/${name}.key`) });

function saveBootstrap(data: BootstrapData): void {
  writeKeyPair(tls("server-ca").cert, tls("server-ca").key, data.serverCA);
  writeKeyPair(tls("client-ca").cert, tls("client-ca").key, data.clientCA);
  mkdirSync(dirname(rooted(CRED_FILE)), { recursive: true });
  writeFileSync(rooted(CRED_FILE), JSON.stringify({ serverPassword: data.serverPassword, agentPassword: data.agentPassword }), { mode: 0o600 });
}

function loadBootstrap(): BootstrapData {
  const cred = JSON.parse(readFileSync(rooted(CRED_FILE), "utf8")) as { serverPassword: string; agentPassword: string };
  return {
    serverCA: readKeyPair(tls("server-ca").cert, tls("server-ca").key),
    clientCA: readKeyPair(tls("client-ca").cert, tls("client-ca").key),
    ...cred,
  };
}

/** k3s setName: "<node>-<8 hex>", kept in db/etcd/name so a restart is the same member. */
function memberName(nodeName: string): string {
  const file = rooted(`${ETCD_DIR}/name`);
  if (existsSync(file)) return readFileSync(file, "utf8").trim();
  const name = `${nodeName}-${randomBytes(4).toString("hex")}`;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, name, { mode: 0o600 });
  return name;
}

/** The first server: new CAs, the token's password (generated when config.yaml has none). */
function initBootstrap(config: Rke2Config): BootstrapData {
  const now = Math.floor(Date.now() / 1000);
  const serverCA = createCA(`rke2-server-ca@${now}`);
  const clientCA = createCA(`rke2-client-ca@${now}`);
  let serverPassword = randomBytes(16).toString("hex");
  if (config.token !== undefined && config.token !== "") {
    const token = parseToken(config.token);
    // Without custom CA certificates the first server can only take the short form: the CA it
    // is about to generate cannot have the hash a full token names (docs/security/token.md).
    if (token.caHash !== "" && token.caHash !== hashCA(serverCA.cert)) {
      throw new JoinError(`token CA hash does not match the Cluster CA certificate hash: ${token.caHash} != ${hashCA(serverCA.cert)}`);
    }
    serverPassword = token.password;
  }
  const agentPassword = config.agentToken ? parseToken(config.agentToken).password : serverPassword;
  return { serverCA, clientCA, serverPassword, agentPassword };
}

async function firstReachable(urls: string[], what: string): Promise<{ client: EtcdClient; members: Member[] }> {
  const errors: string[] = [];
  for (const url of urls) {
    const client = new EtcdClient(url);
    try {
      return { client, members: await client.members() };
    } catch (error) {
      errors.push(`${url}: ${(error as Error).message}`);
    }
  }
  throw new JoinError(`${what}: no etcd member answered (${errors.join("; ") || "no client URLs"})`);
}

interface JoinResult {
  bootstrap: BootstrapData;
  initialCluster: string;
}

/** k3s bootstrap + etcd join: CAs from the supervisor, then this member as an etcd learner. */
async function join(server: string, rawToken: string, nodeName: string, ip: string, name: string): Promise<JoinResult> {
  const token = parseToken(rawToken);
  const cacerts = await fetchClusterCA(server, token);
  const data = JSON.parse(await supervisorGet(server, "/v1-rke2/server-bootstrap", cacerts, "server", token.password)) as { serverCA: KeyPair; clientCA: KeyPair; agentPassword: string };
  const bootstrap = { serverCA: data.serverCA, clientCA: data.clientCA, serverPassword: token.password, agentPassword: data.agentPassword };
  const info = JSON.parse(await supervisorGet(server, "/db/info", cacerts, "server", token.password)) as { members: Member[] };
  const clientURLs = info.members.filter((m) => !m.isLearner && !(m.clientURLs ?? []).some((u) => new URL(u).hostname === ip)).flatMap((m) => m.clientURLs ?? []);
  const { client, members } = await firstReachable(clientURLs, "joining etcd cluster");
  const cluster: string[] = [];
  let add = true;
  for (const member of members) {
    const peer = member.peerURLs?.[0];
    if (peer === undefined) continue;
    const peerHost = new URL(peer).hostname;
    if (!member.name && peerHost === ip) member.name = name; // an unstarted member with our address is us
    if (member.name === name && peerHost === ip) add = false;
    const memberNode = member.name && member.name.lastIndexOf("-") > 1 ? member.name.slice(0, member.name.lastIndexOf("-")) : member.name;
    if (member.name !== name && memberNode === nodeName) throw new JoinError("duplicate node name found, please use a unique name for this node");
    cluster.push(`${member.name}=${peer}`);
  }
  if (add) {
    log("info", `Adding member ${name}=${peerURL(ip)} to etcd cluster [${cluster.join(" ")}]`);
    try {
      await client.addLearner(peerURL(ip));
      record({ event: "etcd-learner-add", member: name, peerURL: peerURL(ip), via: client.endpoint, ok: true });
    } catch (error) {
      const message = (error as Error).message;
      record({ event: "etcd-learner-add", member: name, peerURL: peerURL(ip), via: client.endpoint, ok: false, error: message });
      throw new JoinError(`ETCD join failed: ${message}`);
    }
    cluster.push(`${name}=${peerURL(ip)}`);
  }
  return { bootstrap, initialCluster: cluster.join(",") };
}

async function untilVoting(etcd: EtcdClient): Promise<void> {
  let lastLog = 0;
  for (;;) {
    try {
      const status = await etcd.status();
      if (!status.isLearner && status.leader !== "0") return;
      if (status.isLearner && Date.now() - lastLog > 5000) {
        log("info", "this server has not yet been promoted from learner to voting member");
        lastLog = Date.now();
      }
    } catch {
      // etcd still starting
    }
    await Bun.sleep(250);
  }
}

function servingSans(config: Rke2Config, nodeName: string, ip: string): string[] {
  const names = [...config.tlsSan, ip, nodeName, "localhost", "127.0.0.1", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local", "10.43.0.1"];
  return [...new Set(names)].map((n) => (/^\d{1,3}(\.\d{1,3}){3}$/.test(n) ? `IP:${n}` : `DNS:${n}`));
}

/** Serving certificates for 6443 and 9345, re-issued when the wanted SANs change (dynamiclistener does the same). */
function servingCert(name: string, ca: KeyPair, sans: string[]): KeyPair {
  const paths = tls(name);
  const sansFile = rooted(`${TLS_DIR}/${name}.sans`);
  if (existsSync(paths.cert) && existsSync(sansFile) && readFileSync(sansFile, "utf8") === sans.join(",")) return readKeyPair(paths.cert, paths.key);
  const pair = issueCert(ca, { commonName: name === "serving-kube-apiserver" ? "kube-apiserver" : "rke2-supervisor", sans, usage: "server" });
  writeKeyPair(paths.cert, paths.key, pair);
  writeFileSync(sansFile, sans.join(","));
  return pair;
}

function writeTokens(bootstrap: BootstrapData, config: Rke2Config): void {
  writeFileSync(rooted(TOKEN_FILE), `${formatToken(bootstrap.serverCA.cert, "server", bootstrap.serverPassword)}\n`, { mode: 0o600 });
  rmSync(rooted(NODE_TOKEN_FILE), { force: true });
  symlinkSync("token", rooted(NODE_TOKEN_FILE));
  rmSync(rooted(AGENT_TOKEN_FILE), { force: true });
  if (config.agentToken) writeFileSync(rooted(AGENT_TOKEN_FILE), `${formatToken(bootstrap.serverCA.cert, "node", bootstrap.agentPassword)}\n`, { mode: 0o600 });
  else symlinkSync("token", rooted(AGENT_TOKEN_FILE));
}

function writeKubeconfig(bootstrap: BootstrapData, mode: number): void {
  const paths = tls("client-admin");
  const admin = existsSync(paths.cert) ? readKeyPair(paths.cert, paths.key) : issueCert(bootstrap.clientCA, { commonName: "system:admin", organization: "system:masters", usage: "client" });
  writeKeyPair(paths.cert, paths.key, admin);
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const kubeconfig = [
    "apiVersion: v1",
    "clusters:",
    "- cluster:",
    `    certificate-authority-data: ${b64(bootstrap.serverCA.cert)}`,
    "    server: https://127.0.0.1:6443",
    "  name: default",
    "contexts:",
    "- context:",
    "    cluster: default",
    "    user: default",
    "  name: default",
    "current-context: default",
    "kind: Config",
    "preferences: {}",
    "users:",
    "- name: default",
    "  user:",
    `    client-certificate-data: ${b64(admin.cert)}`,
    `    client-key-data: ${b64(admin.key)}`,
    "",
  ].join("\n");
  const file = rooted(KUBECONFIG_FILE);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, kubeconfig, { mode });
  chmodSync(file, mode);
}

function linkKubectl(): void {
  const target = KUBECTL_CANDIDATES.find((path) => existsSync(path));
  const link = rooted(`${BIN_DIR}/kubectl`);
  mkdirSync(dirname(link), { recursive: true });
  rmSync(link, { force: true });
  if (target === undefined) log("warning", `no kubectl at ${KUBECTL_CANDIDATES.join(" or ")}: ${BIN_DIR}/kubectl not linked`);
  else symlinkSync(target, link);
}

/** k3s manageLearners, leader only: promote the first learner etcd accepts as caught up. */
function manageLearners(etcd: EtcdClient): void {
  setInterval(async () => {
    try {
      const status = await etcd.status();
      if (status.memberId !== status.leader) return;
      const learner = (await etcd.members()).find((m) => m.isLearner);
      if (learner === undefined) return;
      try {
        await etcd.promote(learner.ID);
        log("info", `Promoted learner ${learner.name ?? learner.ID}`);
        record({ event: "etcd-learner-promote", member: learner.name ?? learner.ID, ok: true });
      } catch (error) {
        log("info", `Unable to promote learner ${learner.name ?? learner.ID}: ${(error as Error).message}`);
      }
    } catch (error) {
      log("error", `Failed to check local etcd status for learner management: ${(error as Error).message}`);
    }
  }, LEARNER_CHECK_MS);
}

/** The deploy controller: HelmCharts from the manifests directory into etcd; problems reported once per file content. */
function deployManifests(etcd: EtcdClient): void {
  const reported = new Set<string>();
  const scan = async () => {
    for (const result of readManifestDir(rooted(MANIFESTS_DIR), MANIFESTS_DIR)) {
      for (const problem of result.problems) {
        if (reported.has(problem)) continue;
        reported.add(problem);
        log("error", `Failed to apply manifest ${result.file}: ${problem}`);
        record({ event: "manifest-rejected", file: result.file, reason: problem });
      }
      for (const chart of result.charts) {
        const key = `${HELMCHART_PREFIX}${chart.metadata.namespace}/${chart.metadata.name}`;
        const current = await etcd.get(key);
        const previous = current === undefined ? undefined : (JSON.parse(current.value) as { spec?: unknown; metadata: Record<string, unknown> });
        if (previous !== undefined && JSON.stringify(previous.spec) === JSON.stringify(chart.spec)) continue;
        const refusal = existsSync(rooted(HELMCHART_REFUSAL_FILE)) ? readFileSync(rooted(HELMCHART_REFUSAL_FILE), "utf8").trim() : undefined;
        if (refusal !== undefined) {
          const problem = `HelmChart ${chart.metadata.namespace}/${chart.metadata.name}: ${refusal}`;
          const once = `${result.file} ${problem} ${JSON.stringify(chart.spec)}`;
          if (!reported.has(once)) {
            reported.add(once);
            log("error", `Failed to apply manifest ${result.file}: ${problem}`);
            record({ event: "manifest-rejected", file: result.file, reason: problem });
          }
          continue;
        }
        const metadata = { ...chart.metadata, uid: previous?.metadata.uid ?? crypto.randomUUID(), creationTimestamp: previous?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, "Z") };
        await etcd.put(key, JSON.stringify({ ...chart, metadata }));
        record({ event: "manifest-applied", file: result.file, helmchart: `${chart.metadata.namespace}/${chart.metadata.name}` });
      }
    }
  };
  const loop = () => scan().catch((error) => log("error", `deploy controller: ${(error as Error).message}`)).finally(() => setTimeout(loop, MANIFEST_SCAN_MS));
  loop();
}

export async function runServer(host: LabHost, config: Rke2Config, startedAt: number): Promise<void> {
  const nodeName = config.nodeName ?? host.name;
  const ip = config.nodeIp ?? host.ip;
  const dataDir = rooted(ETCD_DIR);
  const initialized = existsSync(`${dataDir}/member/wal`);
  const name = memberName(nodeName);
  let bootstrap: BootstrapData;
  let etcdProcess;
  if (initialized) {
    record({ event: "start", mode: "restart", member: name });
    bootstrap = loadBootstrap();
    etcdProcess = startEtcd({ name, ip, dataDir, initialCluster: "", state: "restart", extraArgs: config.etcdArg });
  } else if (config.server === undefined) {
    record({ event: "start", mode: "init", member: name });
    bootstrap = initBootstrap(config);
    saveBootstrap(bootstrap);
    etcdProcess = startEtcd({ name, ip, dataDir, initialCluster: `${name}=${peerURL(ip)}`, state: "new", extraArgs: config.etcdArg });
  } else {
    record({ event: "start", mode: "join", member: name, server: config.server });
    const joined = await join(config.server, config.token!, nodeName, ip, name);
    bootstrap = joined.bootstrap;
    saveBootstrap(bootstrap);
    etcdProcess = startEtcd({ name, ip, dataDir, initialCluster: joined.initialCluster, state: "existing", extraArgs: config.etcdArg });
  }
  const etcdPid = etcdProcess.pid;
  etcdProcess.exited.then(async (code) => {
    record({ event: "exit", reason: `etcd exited with ${code}`, code: 1 });
    log("fatal", `etcd exited with ${code}`);
    await Bun.sleep(1000); // let a response in flight (our own removal) go out
    process.exit(1);
  });
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      record({ event: "stop", signal });
      try {
        process.kill(etcdPid, "SIGTERM");
      } catch {
        // already gone
      }
      process.exit(0);
    });
  }

  const etcd = new EtcdClient("http://127.0.0.1:2379");
  await untilVoting(etcd);
  log("info", "ETCD server is now running");
  writeTokens(bootstrap, config);
  const sans = servingSans(config, nodeName, ip);
  const apiCert = servingCert("serving-kube-apiserver", bootstrap.serverCA, sans);
  const supervisorCert = servingCert("supervisor", bootstrap.serverCA, sans);
  writeKubeconfig(bootstrap, config.writeKubeconfigMode ?? 0o600);
  linkKubectl();

  const api = new Api({
    etcd,
    advertise: `${ip}:6443`,
    removeMember: async (member, address) => {
      const all = await etcd.members();
      const target = all.find((m) => m.name === member && (m.peerURLs ?? []).some((u) => new URL(u).hostname === address));
      if (target === undefined) return etcd;
      // Removing ourselves: ask another voting member, which stays to take the Node's deletion.
      const other = address === ip ? all.find((m) => m !== target && !m.isLearner && (m.clientURLs ?? []).length > 0) : undefined;
      const via = other === undefined ? etcd : new EtcdClient(other.clientURLs![0]!);
      await via.remove(target.ID);
      return via;
    },
  });
  await serve({ ...apiCert, clientCA: bootstrap.clientCA.cert }, "0.0.0.0", 6443, (r) => api.handle(r));
  await serve(supervisorCert, "0.0.0.0", 9345, supervisorHandler({ host, bootstrap, etcd }));
  log("info", "Kube API server is now running");
  manageLearners(etcd);
  deployManifests(etcd);

  const kubeletCert = issueCert(bootstrap.clientCA, { commonName: `system:node:${nodeName}`, organization: "system:nodes", usage: "client" });
  void runKubelet({
    api: "https://127.0.0.1:6443",
    ca: bootstrap.serverCA.cert,
    client: kubeletCert,
    registration: { name: nodeName, ip, server: true, labels: config.nodeLabel, taints: config.nodeTaint, annotations: { [MEMBER_NAME_ANNOTATION]: name, [MEMBER_ADDRESS_ANNOTATION]: ip } },
    readyAt: startedAt + host.readyAfterMs,
  });
  log("info", "rke2 is up and running");
  record({ event: "ready", role: "server", member: name, clientURL: clientURL(ip) });
  sdNotify("READY=1");
}
