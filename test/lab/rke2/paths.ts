// Where the stand-in reads and writes, as RKE2 does (data-dir /var/lib/rancher/rke2, config in
// /etc/rancher/rke2). RKE2_STANDIN_ROOT prefixes every path so that the stand-in can also run as a
// plain process in a network namespace on the test machine, one root directory per host; in the
// lab's systemd hosts it is unset and the paths are the real ones.

import { join } from "node:path";

const root = process.env.RKE2_STANDIN_ROOT ?? "/";

export function rooted(path: string): string {
  return join(root, path);
}

export const CONFIG_FILE = "/etc/rancher/rke2/config.yaml";
export const CONFIG_DROPIN_DIR = "/etc/rancher/rke2/config.yaml.d";
export const KUBECONFIG_FILE = "/etc/rancher/rke2/rke2.yaml";
export const HOST_FILE = "/etc/starbase-lab/host.json";
/**
 * A fault the tests switch on: while this file exists, the API server refuses every HelmChart the
 * deploy controller applies, with the file's content as its reason (what an admission webhook that
 * denies the object, or a missing HelmChart CRD, makes real RKE2 log).
 */
export const HELMCHART_REFUSAL_FILE = "/etc/starbase-lab/faults/helmchart-refused";
export const RECORDS_FILE = "/var/lib/starbase-lab/rke2-records.jsonl";

export const DATA_DIR = "/var/lib/rancher/rke2";
export const SERVER_DIR = `${DATA_DIR}/server`;
export const TLS_DIR = `${SERVER_DIR}/tls`;
export const ETCD_DIR = `${SERVER_DIR}/db/etcd`;
export const MANIFESTS_DIR = `${SERVER_DIR}/manifests`;
export const TOKEN_FILE = `${SERVER_DIR}/token`;
export const NODE_TOKEN_FILE = `${SERVER_DIR}/node-token`;
export const AGENT_TOKEN_FILE = `${SERVER_DIR}/agent-token`;
export const AGENT_DIR = `${DATA_DIR}/agent`;
export const BIN_DIR = `${DATA_DIR}/bin`;

/** The kubectl the lab mounts into every host, else the distribution's. */
export const KUBECTL_CANDIDATES = ["/opt/starbase-lab/bin/kubectl", "/usr/bin/kubectl"];
