import { addressIssues } from "./address-rules.ts";
import { specIssue } from "./diagnostics.ts";
import { dnsLabelHint, isDnsLabel } from "./dns-label.ts";
import { durationMinutes } from "./duration.ts";
import { declaredGroups, groupSize, ROLE_ORDER } from "./groups.ts";
import { formatPath } from "./paths.ts";
import { didYouMean } from "./suggest.ts";
import type { SecretRef, Spec, SpecIssue, SpecPath } from "./types.ts";

function labelIssue(path: SpecPath, name: string): SpecIssue | undefined {
  if (isDnsLabel(name)) return undefined;
  return specIssue("error", path, `${formatPath(path)}: "${name}" is not a valid DNS label`, dnsLabelHint(name));
}

/**
 * The cluster's tag `starbase-<name>` must not read as one of starbase's other tags
 * (`starbase-<role>`, and `starbase-cfg-<hash>` of earlier versions, which apply removes):
 * destroy would then take other clusters' VMs.
 */
function reservedNameIssue(name: string): SpecIssue | undefined {
  const lower = name.toLowerCase();
  if (!ROLE_ORDER.some((role) => role === lower) && !lower.startsWith("cfg-")) return undefined;
  return specIssue("error", ["name"], `name: "${name}" is reserved`, `starbase tags every VM starbase-<role> (and earlier versions starbase-cfg-<hash>); choose a name other than loadbalancer, server, agent or cfg-…`);
}

/** The cluster name and every explicit host name are DNS labels; host names are unique across types. */
function nameIssues(spec: Spec): SpecIssue[] {
  const issues: (SpecIssue | undefined)[] = [labelIssue(["name"], spec.name), reservedNameIssue(spec.name)];
  const firstUse = new Map<string, SpecPath>();
  for (const { key, group } of declaredGroups(spec)) {
    group.hosts?.forEach((host, index) => {
      const path = ["nodes", key, "hosts", index, "name"];
      issues.push(labelIssue(path, host.name));
      const earlier = firstUse.get(host.name);
      if (earlier === undefined) firstUse.set(host.name, path);
      else issues.push(specIssue("error", path, `${formatPath(path)}: "${host.name}" is already used by ${formatPath(earlier.slice(0, -1))}`, "host names must be unique across all node types"));
    });
  }
  return issues.filter((found): found is SpecIssue => found !== undefined);
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
    if (nodes.indexOf(node) !== index) issues.push(specIssue("error", ["proxmox", "nodes", index], `proxmox.nodes[${index}]: "${node}" is listed twice`));
  });
  for (const { key, group } of declaredGroups(spec)) {
    group.hosts?.forEach((host, index) => {
      if (host.pveNode === undefined || nodes.includes(host.pveNode)) return;
      const path = ["nodes", key, "hosts", index, "pveNode"];
      const hint = didYouMean(host.pveNode, nodes) ?? `proxmox.nodes: ${nodes.join(", ")}`;
      issues.push(specIssue("error", path, `${formatPath(path)}: "${host.pveNode}" is not in proxmox.nodes`, hint));
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

/** Secrets should be references; an inline one works but ends up in files and history. */
function secretIssues(spec: Spec): SpecIssue[] {
  const secrets: [SpecPath, SecretRef | undefined][] = [
    [["proxmox", "tokenSecret"], spec.proxmox.tokenSecret],
    [["ssh", "hostKeySecret"], spec.ssh.hostKeySecret],
    [["loadBalancer", "vrrp", "authPass"], spec.loadBalancer.vrrp.authPass],
  ];
  const issues: SpecIssue[] = [];
  for (const [path, ref] of secrets) {
    if (typeof ref !== "string") continue;
    const field = formatPath(path);
    if (ref === "") issues.push(specIssue("error", path, `${field}: empty secret`, "use { env: NAME } or { file: PATH }"));
    else issues.push(specIssue("warning", path, `inline secret in ${field}; use { env: … } or { file: … }`));
  }
  return issues;
}

function windowIssues(spec: Spec): SpecIssue[] {
  const text = spec.updates.windowDuration;
  const minutes = durationMinutes(text);
  const path = ["updates", "windowDuration"];
  if (minutes === undefined) return [specIssue("error", path, `updates.windowDuration: "${text}" is not a duration like 1h, 90m or 1h30m`)];
  if (minutes === 0) return [specIssue("error", path, `updates.windowDuration: "${text}" is no time at all`, "a reboot window needs a length, e.g. 1h")];
  if (minutes >= 24 * 60) return [specIssue("error", path, `updates.windowDuration: "${text}" must be shorter than a day`)];
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

/**
 * Every rule that needs only the (schema-valid) spec itself. Rules on derived values
 * (addresses from ipStart, VMIDs, placement, reboot-window overlap) live in inventory/.
 */
export function specIssues(spec: Spec): SpecIssue[] {
  return [
    ...nameIssues(spec),
    ...tlsIssues(spec),
    ...pveNodeIssues(spec),
    ...addressIssues(spec),
    ...groupSizeIssues(spec),
    ...secretIssues(spec),
    ...windowIssues(spec),
    ...rke2Issues(spec),
    ...imageIssues(spec),
    ...vmIssues(spec),
  ];
}
