// The shape of cluster.yaml after schema validation and defaulting.
// spec-schema.json is the source of truth for what a user may write; these
// types describe what the rest of starbase may rely on once loadSpecFile() returned a spec.

/** A secret is never written inline unless the user insists (a warning is printed). */
export type SecretRef = { env: string } | { file: string } | string;

export type Role = "loadbalancer" | "server" | "agent";

export interface TlsChoice {
  fingerprint?: string; // SHA-256, "AB:CD:..." (64 hex digits, colons optional)
  ca?: string; // path to a PEM file, relative to the spec file
  insecure?: boolean;
}

export interface ProxmoxSpec {
  endpoint: string; // https://host:8006
  tokenId: string; // user@realm!tokenid
  tokenSecret: SecretRef;
  tls: TlsChoice;
  nodes: string[]; // placement order
  storage: { image: string; disk: string; cloudInit: string };
  /** VM creations in flight per Proxmox node (Proxmox takes node-wide storage locks). */
  vmCreatePerNode: number;
}

export interface ImageSpec {
  url: string;
  checksumUrl?: string;
  /** sha256 hex of the image; wins over checksumUrl when both are given. */
  checksum?: string;
  /** Name under the `import` content type; derived from the URL when absent (must end .qcow2/.raw/.vmdk). */
  fileName?: string;
}

export interface SshSpec {
  user: string;
  authorizedKeys: string[];
  privateKey?: string;
  /** Passphrase of an encrypted privateKey; asked on a terminal when absent. */
  privateKeyPassphrase?: SecretRef;
  /** ProxyJump chain: "user@host[:port]" hops separated by commas (ssh/jump.ts parses it). */
  jumpHost?: string;
  /** OpenSSH known_hosts file for the jump hosts; "~/.ssh/known_hosts" by default. */
  knownHosts: string;
  /** accept-new for jump hosts not in knownHosts. */
  acceptNewHostKeys: boolean;
  /** Secret from which each VM's SSH host key is derived (see render/hostkeys). */
  hostKeySecret: SecretRef;
}

export interface NetworkSpec {
  interface: string; // guest NIC name, default ens18
  bridge: string;
  vlan?: number;
  mtu?: number;
  model: string; // virtio
  cidr: string;
  gateway: string;
  dns: string[];
  searchDomains: string[];
}

/** A further NIC. A per-host static address is not modelled yet: extra NICs are DHCP or unconfigured. */
export interface ExtraNetwork {
  interface: string;
  bridge: string;
  vlan?: number;
  mtu?: number;
  model: string;
  dhcp: boolean;
}

export interface VmSpec {
  cores: number;
  memory: number; // MiB
  balloon?: number; // MiB minimum; absent = memory (no ballooning range)
  disk: number; // GiB
  vmidStart: number;
  cpu: string; // x86-64-v2-AES
}

export interface HostEntry {
  name: string;
  ip?: string;
  vmid?: number;
  pveNode?: string;
}

export interface NodeGroup {
  vm: VmSpec;
  /** Explicit hosts, in declaration order. Exactly one of hosts / count is set. */
  hosts?: HostEntry[];
  count?: number;
  ipStart?: string;
  /** Name prefix for count-generated hosts: agent → agent01, agent02 … */
  namePrefix?: string;
  extraNetworks?: ExtraNetwork[];
  packages?: string[];
}

export interface LoadBalancerSpec {
  vip: string;
  vrrp: {
    mode: "multicast" | "unicast";
    routerId: number;
    /** VRRP PASS authentication; derived from ssh.hostKeySecret when absent. */
    authPass?: SecretRef;
  };
}

export interface Rke2Spec {
  channel?: string;
  version?: string;
  /** Channel server (install.sh's INSTALL_RKE2_CHANNEL_URL); the schema's default when absent. */
  channelUrl?: string;
  cni: string;
  selinux: boolean;
  tlsSan: string[];
}

export interface UpdatesSpec {
  rebootSlots: number[];
  minuteOffsets: number[];
  windowDuration: string; // "1h", "90m", "1h30m"
  /** rebootmgr strategy on load balancers. */
  strategy: "best-effort" | "maint-window" | "instantly" | "off";
}

export interface KuredSpec {
  enabled: boolean;
  startTime: string;
  endTime: string;
  timeZone: string;
  /** kured Helm chart version pinned in the HelmChart manifest. */
  chartVersion: string;
}

export interface Spec {
  name: string;
  proxmox: ProxmoxSpec;
  image: ImageSpec;
  ssh: SshSpec;
  network: NetworkSpec;
  extraNetworks: ExtraNetwork[];
  packages: string[];
  nodes: {
    loadBalancers: NodeGroup;
    servers: NodeGroup;
    agents?: NodeGroup;
  };
  loadBalancer: LoadBalancerSpec;
  rke2: Rke2Spec;
  updates: UpdatesSpec;
  kured: KuredSpec;
}

/** A message about the spec, positioned in the file it came from. */
export interface Diagnostic {
  severity: "error" | "warning";
  file: string;
  line: number; // 1-based
  col: number; // 1-based
  message: string;
  hint?: string;
}

/** Where in the document a value lives: keys and list indexes from the root. */
export type SpecPath = (string | number)[];

/**
 * A problem found on the parsed spec or on values derived from it (inventory),
 * before it has been given a line and column. plan/ turns these into Diagnostics.
 */
export interface SpecIssue {
  severity: "error" | "warning";
  path: SpecPath;
  message: string;
  hint?: string;
  /** Point at the key of `path` rather than its value (unknown or missing keys). */
  key?: boolean;
}
