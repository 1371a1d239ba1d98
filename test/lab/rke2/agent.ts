// `rke2 agent`: checks the cluster CA against its token through the server: URL, gets a node client
// certificate from the supervisor (k3s agent/config: /v1-rke2/client-kubelet.crt with the node's
// name and the token's password) and registers its Node through the API on port 6443 of the same
// host (real agents start their client load balancer from that address). No etcd.

import { fetchClusterCA, supervisorGet } from "./client.ts";
import type { Rke2Config } from "./config.ts";
import type { LabHost } from "./host.ts";
import { runKubelet } from "./kubelet.ts";
import { sdNotify } from "./notify.ts";
import { AGENT_DIR, rooted } from "./paths.ts";
import { writeKeyPair } from "./pki.ts";
import { log, record } from "./records.ts";
import { NODE_NAME_HEADER } from "./supervisor.ts";
import { parseToken } from "./token.ts";

export async function runAgent(host: LabHost, config: Rke2Config, startedAt: number): Promise<void> {
  const nodeName = config.nodeName ?? host.name;
  const ip = config.nodeIp ?? host.ip;
  const server = config.server!;
  record({ event: "start", mode: "agent", server });
  const token = parseToken(config.token!);
  const cacerts = await fetchClusterCA(server, token);
  const bundle = await supervisorGet(server, "/v1-rke2/client-kubelet.crt", cacerts, "node", token.password, { [NODE_NAME_HEADER]: nodeName });
  const split = bundle.indexOf("-----BEGIN", bundle.indexOf("-----END CERTIFICATE-----"));
  const client = { cert: bundle.slice(0, split), key: bundle.slice(split) };
  writeKeyPair(rooted(`${AGENT_DIR}/client-kubelet.crt`), rooted(`${AGENT_DIR}/client-kubelet.key`), client);
  const api = `https://${new URL(server).host.replace(/:\d+$/, "")}:6443`;
  log("info", `Connecting to the API at ${api}`);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.on(signal, () => {
      record({ event: "stop", signal });
      process.exit(0);
    });
  }
  void runKubelet({
    api,
    ca: cacerts,
    client,
    registration: { name: nodeName, ip, server: false, labels: config.nodeLabel, taints: config.nodeTaint, annotations: {} },
    readyAt: startedAt + host.readyAfterMs,
  });
  record({ event: "ready", role: "agent" });
  sdNotify("READY=1");
  // A real agent runs until it is stopped (kubelet, containerd, its load balancer). Here nothing
  // else holds the event loop once the Node is Ready: without this the process exited 0 and
  // systemd restarted it every 5 s (Restart=always), so the unit was never seen active.
  setInterval(() => {}, 3_600_000);
}
