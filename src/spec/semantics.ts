import { isIpv6, parseIpv4 } from "../net/ip.ts";
import { addressRules } from "./address-rules.ts";
import { quote, specIssue } from "./diagnostics.ts";
import { dnsLabelHint, dnsNameProblem, isDnsLabel } from "./dns-label.ts";
import { durationMinutes } from "./duration.ts";
import { declaredGroups, groupSize, ROLE_ORDER } from "./groups.ts";
import { formatPath, valueAt } from "./paths.ts";
import { type Rule, runRules } from "./rules.ts";
import { didYouMean } from "./suggest.ts";
import type { SecretRef, Spec, SpecIssue, SpecPath } from "./types.ts";

/** Host and node names are DNS labels: 63 characters at most, and cut there in messages. */
const LABEL_MAX = 63;

function labelIssue(path: SpecPath, name: string): SpecIssue | undefined {
  if (isDnsLabel(name)) return undefined;
  return specIssue("error", path, `${formatPath(path)}: ${quote(name, LABEL_MAX)} is not a valid DNS label`, dnsLabelHint(name));
}

/**
 * The cluster's tag `starbase-<name>` must not read as one of starbase's other tags
 * (`starbase-<role>`, and `starbase-cfg-<hash>` of earlier versions, which apply removes):
 * destroy would then take other clusters' VMs.
 */
function reservedNameIssue(name: string): SpecIssue | undefined {
  const lower = name.toLowerCase();
  if (!ROLE_ORDER.some((role) => role === lower) && !lower.startsWith("cfg-")) return undefined;
  return specIssue("error", ["name"], `name: ${quote(name, LABEL_MAX)} is reserved`, `starbase tags every VM starbase-<role> (and earlier versions starbase-cfg-<hash>); choose a name other than loadbalancer, server, agent or cfg-…`);
}

function defined(issues: (SpecIssue | undefined)[]): SpecIssue[] {
  return issues.filter((found): found is SpecIssue => found !== undefined);
}

/** Every explicit host name is a DNS label, unique across types. */
function hostNameIssues(spec: Spec): SpecIssue[] {
  const issues: (SpecIssue | undefined)[] = [];
  const firstUse = new Map<string, SpecPath>();
  for (const { key, group } of declaredGroups(spec)) {
    group.hosts?.forEach((host, index) => {
      const path = ["nodes", key, "hosts", index, "name"];
      issues.push(labelIssue(path, host.name));
      const earlier = firstUse.get(host.name);
      if (earlier === undefined) firstUse.set(host.name, path);
      else issues.push(specIssue("error", path, `${formatPath(path)}: ${quote(host.name, LABEL_MAX)} is already used by ${formatPath(earlier.slice(0, -1))}`, "host names must be unique across all node types"));
    });
  }
  return defined(issues);
}

/** Servers and load balancers exist; an even number of servers buys no etcd fault tolerance. */
function groupSizeIssues(spec: Spec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const sizePath = (key: string, hasHosts: boolean): SpecPath => ["nodes", key, hasHosts ? "hosts" : "count"];
  const lbs = spec.nodes.loadBalancers;
  if (groupSize(lbs) === 0) {
    issues.push(specIssue("error", sizePath("loadBalancers", lbs.hosts !== undefined), "nodes.loadBalancers: needs at least one load balancer to hold the VIP"));
  }
  const servers = spec.nodes.servers;
  const serverCount = groupSize(servers);
  const path = sizePath("servers", servers.hosts !== undefined);
  if (serverCount === 0) issues.push(specIssue("error", path, "nodes.servers: needs at least one server"));
  else if (serverCount % 2 === 0) {
    issues.push(
      specIssue(
        "warning",
        path,
        `nodes.servers: ${serverCount} servers survive no more failures than ${serverCount - 1} would (etcd needs a majority)`,
        "use an odd number of servers (1, 3, 5 …)",
      ),
    );
  }
  return issues;
}

/** proxmox.nodes has no repeats, and every pinned pveNode is one of them. */
function pveNodeIssues(spec: Spec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  const nodes = spec.proxmox.nodes;
  nodes.forEach((node, index) => {
    if (nodes.indexOf(node) !== index) issues.push(specIssue("error", ["proxmox", "nodes", index], `proxmox.nodes[${index}]: ${quote(node, LABEL_MAX)} is listed twice`));
  });
  for (const { key, group } of declaredGroups(spec)) {
    group.hosts?.forEach((host, index) => {
      if (host.pveNode === undefined || nodes.includes(host.pveNode)) return;
      const path = ["nodes", key, "hosts", index, "pveNode"];
      const hint = didYouMean(host.pveNode, nodes) ?? `proxmox.nodes: ${nodes.join(", ")}`;
      issues.push(specIssue("error", path, `${formatPath(path)}: ${quote(host.pveNode, LABEL_MAX)} is not in proxmox.nodes`, hint));
    });
  }
  return issues;
}

/** Exactly one way to trust Proxmox; turning verification off is allowed but called out. */
function tlsIssues(spec: Spec): SpecIssue[] {
  const tls = spec.proxmox.tls;
  const chosen = [
    tls.fingerprint !== undefined ? "fingerprint" : undefined,
    tls.ca !== undefined ? "ca" : undefined,
    tls.insecure === true ? "insecure: true" : undefined,
  ].filter((choice): choice is string => choice !== undefined);
  const path = ["proxmox", "tls"];
  if (chosen.length === 0) {
    return [specIssue("error", path, "proxmox.tls: choose how to trust the Proxmox certificate", "set fingerprint (SHA-256 of the certificate), ca (a PEM file) or, for labs only, insecure: true")];
  }
  if (chosen.length > 1) return [specIssue("error", path, `proxmox.tls: set only one of fingerprint, ca or insecure: true, not ${chosen.join(" and ")}`)];
  if (tls.insecure === true) {
    return [specIssue("warning", ["proxmox", "tls", "insecure"], "proxmox.tls.insecure: certificate verification is off; anyone on the path can pose as Proxmox", "pin the certificate with fingerprint instead")];
  }
  return [];
}

const ENDPOINT = /^https:\/\/(\[[^\]]*\]|[^/:]+)(?::([0-9]*))?\/?$/;

/** The endpoint is a URL Proxmox answers on: 8006, or 443 only when a proxy is in front (a warning). */
function endpointIssues(spec: Spec): SpecIssue[] {
  const path = ["proxmox", "endpoint"];
  const endpoint = spec.proxmox.endpoint;
  const notUrl = specIssue("error", path, `proxmox.endpoint: ${quote(endpoint)} is not a URL like https://pve1.lan:8006`, "an IPv6 address goes in brackets: https://[fd00::1]:8006");
  const match = ENDPOINT.exec(endpoint);
  if (match === null) return [notUrl];
  const [, host, port] = match;
  if (port !== undefined && (port === "" || Number(port) < 1 || Number(port) > 65535)) {
    return [specIssue("error", path, `proxmox.endpoint: ${quote(port, 8)} is not a TCP port (1–65535)`, "Proxmox listens on 8006")];
  }
  if (!URL.canParse(endpoint)) return [notUrl];
  if (port === undefined) {
    return [specIssue("warning", path, "proxmox.endpoint: no port, so starbase connects to 443; Proxmox listens on 8006", `write https://${host}:8006, or :443 when a proxy in front of Proxmox serves the API there`)];
  }
  return [];
}

/** Secrets should be references; an inline one works but ends up in files and history. */
function inlineSecretIssues(path: SpecPath, ref: SecretRef | undefined): SpecIssue[] {
  if (typeof ref !== "string") return [];
  const field = formatPath(path);
  if (ref === "") return [specIssue("error", path, `${field}: empty secret`, "use { env: NAME } or { file: PATH }")];
  return [specIssue("warning", path, `inline secret in ${field}; use { env: … } or { file: … }`)];
}

function windowIssues(spec: Spec): SpecIssue[] {
  const text = spec.updates.windowDuration;
  const minutes = durationMinutes(text);
  const path = ["updates", "windowDuration"];
  const shown = quote(text, 16);
  if (minutes === undefined) return [specIssue("error", path, `updates.windowDuration: ${shown} is not a duration like 1h, 90m or 1h30m`)];
  if (minutes === 0) return [specIssue("error", path, `updates.windowDuration: ${shown} is no time at all`, "a reboot window needs a length, e.g. 1h")];
  if (minutes >= 24 * 60) return [specIssue("error", path, `updates.windowDuration: ${shown} must be shorter than a day`)];
  return [];
}

function rke2Issues(spec: Spec): SpecIssue[] {
  if (spec.rke2.channel === undefined || spec.rke2.version === undefined) return [];
  return [specIssue("error", ["rke2", "version"], "rke2: set either channel or version, not both", "version pins one release; channel follows a release line")];
}

function imageIssues(spec: Spec): SpecIssue[] {
  if (spec.image.checksum !== undefined || spec.image.checksumUrl !== undefined) return [];
  return [specIssue("warning", ["image"], "image: neither checksum nor checksumUrl is set; the download is not verified", "set image.checksum (SHA-256) or image.checksumUrl")];
}

function vmIssues(spec: Spec): SpecIssue[] {
  const issues: SpecIssue[] = [];
  for (const { key, group } of declaredGroups(spec)) {
    const { balloon, memory } = group.vm;
    if (balloon !== undefined && balloon > memory) {
      const path = ["nodes", key, "vm", "balloon"];
      issues.push(specIssue("error", path, `${formatPath(path)}: ${balloon} MiB is more than vm.memory (${memory} MiB)`, "balloon is the minimum memory; keep it at or below memory"));
    }
  }
  return issues;
}

/** kured hands the zone to Go's time.LoadLocation: an IANA name, spelled exactly (case matters on Linux). */
function timeZoneIssues(spec: Spec): SpecIssue[] {
  const zone = spec.kured.timeZone;
  // The default needs no look-up; ICU's time zone data costs 10-20 ms to load.
  if (zone === "UTC") return [];
  let canonical: string | undefined;
  try {
    canonical = new Intl.DateTimeFormat("en-US", { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    canonical = undefined;
  }
  // Intl also takes offsets (+01:00) and any spelling of a name; the tz database does not.
  if (canonical === zone && !/^[+-]/.test(zone)) return [];
  const hint = canonical !== undefined && !/^[+-]/.test(zone) ? `did you mean "${canonical}"?` : didYouMean(zone, Intl.supportedValuesOf("timeZone"));
  return [specIssue("error", ["kured", "timeZone"], `kured.timeZone: ${quote(zone, 40)} is not an IANA time zone like Europe/Berlin or UTC`, hint)];
}

/** Each search domain is a DNS name: it completes the nodes' FQDNs and goes into resolv.conf. */
function searchDomainIssues(spec: Spec): SpecIssue[] {
  return spec.network.searchDomains.flatMap((domain, index) => {
    const problem = dnsNameProblem(domain);
    const path = ["network", "searchDomains", index];
    return problem === undefined ? [] : [specIssue("error", path, `${formatPath(path)}: ${quote(domain, 253)} is not a DNS name`, problem)];
  });
}

/** Each extra API server certificate name is a DNS name (a leading `*.` allowed) or an IP address. */
function tlsSanIssues(spec: Spec): SpecIssue[] {
  return spec.rke2.tlsSan.flatMap((san, index) => {
    if (parseIpv4(san) !== undefined || isIpv6(san)) return [];
    const problem = dnsNameProblem(san.startsWith("*.") ? san.slice(2) : san);
    const path = ["rke2", "tlsSan", index];
    return problem === undefined ? [] : [specIssue("error", path, `${formatPath(path)}: ${quote(san, 253)} is neither a DNS name nor an IP address`, problem)];
  });
}

/** Where the spec holds secret references. */
export const SECRET_PATHS: readonly SpecPath[] = [["proxmox", "tokenSecret"], ["ssh", "hostKeySecret"], ["ssh", "privateKeyPassphrase"], ["loadBalancer", "vrrp", "authPass"]];

/**
 * Every rule that needs only the spec itself, with the values it reads. Rules on derived
 * values (addresses from ipStart, VMIDs, placement, reboot-window overlap) live in inventory/;
 * rules that look at files and the environment in references.ts.
 */
const SPEC_RULES: Rule<Spec>[] = [
  { inputs: [["name"]], check: (spec) => defined([labelIssue(["name"], spec.name), reservedNameIssue(spec.name)]) },
  { inputs: [["nodes", "*", "hosts", "*", "name"]], check: hostNameIssues },
  { inputs: [["proxmox", "tls", "fingerprint"], ["proxmox", "tls", "ca"], ["proxmox", "tls", "insecure"]], check: tlsIssues },
  { inputs: [["proxmox", "endpoint"]], check: endpointIssues },
  { inputs: [["proxmox", "nodes", "*"], ["nodes", "*", "hosts", "*", "pveNode"]], check: pveNodeIssues },
  ...addressRules,
  { inputs: [["nodes", "*", "hosts"], ["nodes", "*", "count"]], check: groupSizeIssues },
  ...SECRET_PATHS.map((path): Rule<Spec> => ({ inputs: [path], check: (spec) => inlineSecretIssues(path, valueAt(spec, path) as SecretRef | undefined) })),
  { inputs: [["updates", "windowDuration"]], check: windowIssues },
  { inputs: [["rke2", "channel"], ["rke2", "version"]], check: rke2Issues },
  { inputs: [["image", "checksum"], ["image", "checksumUrl"]], check: imageIssues },
  { inputs: [["nodes", "*", "vm", "balloon"], ["nodes", "*", "vm", "memory"]], check: vmIssues },
  { inputs: [["kured", "timeZone"]], check: timeZoneIssues },
  { inputs: [["network", "searchDomains", "*"]], check: searchDomainIssues },
  { inputs: [["rke2", "tlsSan", "*"]], check: tlsSanIssues },
];

/**
 * The problems of the spec's own values. `broken`: the places that failed the schema; the
 * rules reading them are skipped, all others run (on the defaulted document).
 */
export function specIssues(spec: Spec, broken: readonly SpecPath[] = []): SpecIssue[] {
  return runRules(SPEC_RULES, spec, broken);
}
