// openSUSE MicroOS: a read-only root changed only through transactional-update snapshots, which
// become active on the next boot; rebootmgr reboots inside a window; SELinux enforcing.
// Sources: ../research/ops-facts.md §1.2, §1.3, §3.7, §4.1–4.3 (transactional-update(8),
// rebootmgrctl(1) and rebootmgr.conf(5) of rebootmgr 3.x, kured's sentinel).
import { factRecords, factsScript, parseCommonFacts } from "./facts.ts";
import { checkFactPath, checkPackageName, checkPort, checkUnitName, shellQuote } from "./shell.ts";
import { type ConfigKind, type FactsQuery, FactsParseError, type NodeFacts, type NodeOs, type RebootSetup, type SelinuxMode } from "./types.ts";

const TRANSACTIONAL_UPDATE_CONF = "/etc/transactional-update.conf";
/** libzypp's lock file (one lock per blank-line separated entry; `solvable_name:` names the package). */
const ZYPP_LOCKS = "/etc/zypp/locks";
const ZYPP_REPOS_DIR = "/etc/zypp/repos.d";
/** transactional-update writes the reboot a new snapshot needs here (tmpfs: a reboot clears it). */
const REBOOT_NEEDED = "/run/reboot-needed";
/** What transactional-update's kured method touches and what kured watches by default. */
const KURED_SENTINEL = "/var/run/reboot-required";
/**
 * rebootmgr's configuration in the order later files win (libeconf: vendor, then admin; drop-ins
 * after the main file). rebootmgrctl set-window/set-strategy write the 50-*.conf drop-ins; ≤2.6
 * read /etc/rebootmgr.conf.
 */
const REBOOTMGR_CONFIG = [
  "/usr/share/rebootmgr/rebootmgr.conf",
  "/etc/rebootmgr.conf",
  "/etc/rebootmgr/rebootmgr.conf",
  "/usr/share/rebootmgr/rebootmgr.conf.d/*.conf",
  "/etc/rebootmgr/rebootmgr.conf.d/*.conf",
  "/run/rebootmgr/rebootmgr.conf.d/*.conf",
];

function packageList(packages: readonly string[]): string {
  return packages.map((name) => shellQuote(checkPackageName(name))).join(" ");
}

function unit(name: string): string {
  return shellQuote(checkUnitName(name));
}

/** Sets KEY=VALUE in a shell-assignment config file, replacing an earlier assignment. */
function setAssignment(file: string, key: string, value: string): string {
  const line = `${key}=${value}`;
  return [
    `touch ${shellQuote(file)}`,
    `if grep -q ${shellQuote(`^${key}=`)} ${shellQuote(file)}; then`,
    `  sed -i ${shellQuote(`s/^${key}=.*/${line}/`)} ${shellQuote(file)}`,
    "else",
    `  echo ${shellQuote(line)} >> ${shellQuote(file)}`,
    "fi",
  ].join("\n");
}

function distroSections(query: FactsQuery): string[] {
  const sections: string[] = [];
  if (query.packages.length > 0) {
    sections.push(
      `for n in ${packageList(query.packages)}; do`,
      `  if v=$(rpm -q --qf '%{VERSION}-%{RELEASE}' "$n" 2>/dev/null); then printf 'pkg\\t%s\\t%s\\n' "$n" "$v"; else printf 'pkg\\t%s\\t-\\n' "$n"; fi`,
      "done",
    );
  }
  sections.push(`[ -f ${ZYPP_LOCKS} ] && sed -n 's/^solvable_name: *\\(.*[^ ]\\) *$/pkglock\\t\\1/p' ${ZYPP_LOCKS}`);
  if (query.selinuxPorts.length > 0) {
    // The mode matters only for labelling ports, so it is read only then (getenforce is one more
    // process per host and read). Only the ports asked for: `semanage port -l` lists hundreds of lines.
    const ports = query.selinuxPorts.map((port) => String(checkPort(port))).join("|");
    sections.push(
      `printf 'selinux\\t%s\\n' "$(getenforce 2>/dev/null || echo Disabled)"`,
      `semanage port -l 2>/dev/null | while read -r t p l; do`,
      `  [ "$p" = tcp ] || continue`,
      `  for x in $(echo "$l" | tr -d ','); do case "$x" in ${ports}) printf 'seport\\t%s\\t%s\\n' "$x" "$t";; esac; done`,
      "done",
    );
  }
  sections.push(
    `for f in ${REBOOTMGR_CONFIG.join(" ")}; do [ -f "$f" ] && sed -n 's/^\\(window-start\\|window-duration\\|strategy\\)=/rebootmgr\\t\\1\\t/p' "$f"; done`,
    `[ -f ${TRANSACTIONAL_UPDATE_CONF} ] && sed -n 's/^REBOOT_METHOD=/rebootmethod\\t/p' ${TRANSACTIONAL_UPDATE_CONF}`,
    `if [ -e ${REBOOT_NEEDED} ]; then printf 'rebootneeded\\t1\\n'; else printf 'rebootneeded\\t0\\n'; fi`,
  );
  return sections;
}

const SELINUX_MODES: Record<string, SelinuxMode> = { Enforcing: "enforcing", Permissive: "permissive", Disabled: "disabled" };

function parseFacts(query: FactsQuery, output: string): NodeFacts {
  const packages = new Map<string, string | null>();
  const lockedPackages = new Set<string>();
  const selinuxPorts = new Map<number, string | null>(query.selinuxPorts.map((port) => [port, null]));
  const rebootmgr = new Map<string, string>();
  let selinux: SelinuxMode | undefined;
  let rebootMethod: string | null = null;
  let rebootNeeded = false;
  const common = parseCommonFacts(query, factRecords(output), (fields) => {
    const [tag, key = "", value = ""] = fields;
    if (tag === "pkg") packages.set(key, value === "-" ? null : value);
    else if (tag === "pkglock") lockedPackages.add(key);
    else if (tag === "selinux") {
      selinux = SELINUX_MODES[key];
      if (selinux === undefined) throw new FactsParseError(`unknown SELinux mode ${JSON.stringify(key)}`);
    } else if (tag === "seport") {
      const port = Number(key);
      if (selinuxPorts.get(port) === null) selinuxPorts.set(port, value);
    } else if (tag === "rebootmgr") rebootmgr.set(key, value);
    else if (tag === "rebootmethod") rebootMethod = key.replace(/^["']|["']$/g, "");
    else if (tag === "rebootneeded") rebootNeeded = key === "1";
    else throw new FactsParseError(`unknown fact record ${JSON.stringify(tag)}`);
  });
  for (const name of query.packages) if (!packages.has(name)) throw new FactsParseError(`no fact for package ${name}`);
  if (query.selinuxPorts.length > 0 && selinux === undefined) throw new FactsParseError("no SELinux fact");
  const start = rebootmgr.get("window-start");
  const duration = rebootmgr.get("window-duration");
  return {
    os: common.os,
    files: common.files,
    exists: common.exists,
    units: common.units,
    addresses: common.addresses,
    packages,
    lockedPackages,
    selinux: selinux ?? null,
    selinuxPorts,
    rebootWindow: start !== undefined && duration !== undefined ? { start, duration } : null,
    rebootStrategy: rebootmgr.get("strategy") ?? null,
    rebootMethod,
    rebootNeeded,
  };
}

/**
 * haproxy -c parses without binding (exit 1 on an error). keepalived -t exits 0 for a missing
 * file, so the file is checked first; -l sends its diagnostics to the terminal, -n keeps it in
 * the foreground (ops-facts §3.3, §3.6).
 */
function checkConfig(kind: ConfigKind, path: string): string {
  const file = shellQuote(checkFactPath(path));
  if (kind === "haproxy") return `haproxy -c -f ${file} 2>&1`;
  return `[ -f ${file} ] || { echo ${shellQuote(`${path}: no such file`)}; exit 1; }\nkeepalived -t -l -n -f ${file} 2>&1`;
}

function rebootSetup(setup: RebootSetup): string {
  const lines = [`# Who reboots the node after transactional-update: ${setup.method}.`, setAssignment(TRANSACTIONAL_UPDATE_CONF, "REBOOT_METHOD", setup.method)];
  if (setup.method === "rebootmgr") {
    lines.push(
      "",
      "# Reboot only inside this node's window, so the load balancers never go down together.",
      "systemctl enable --now rebootmgr.service",
      `rebootmgrctl set-window ${shellQuote(setup.window.start)} ${shellQuote(setup.window.duration)}`,
      `rebootmgrctl set-strategy ${shellQuote(setup.strategy)}`,
    );
  } else {
    lines.push(
      "",
      "# kured drains and reboots this node; rebootmgr must not reboot it on its own.",
      "if systemctl cat rebootmgr.service > /dev/null 2>&1; then",
      "  systemctl disable --now rebootmgr.service",
      "fi",
    );
  }
  return lines.join("\n");
}

export const microos: NodeOs = {
  name: "microos",
  matches: ({ id, idLike }) => id === "opensuse-microos" || (id.startsWith("opensuse") && idLike.includes("microos")),
  // --non-interactive: pkg install asks otherwise; the packages are usable after the next boot.
  // `pkg install` passes only install's own options to zypper; a global one (the key import) needs
  // `run zypper …` in the snapshot, as install.sh's rpm method does on transactional systems.
  installPackages: (packages, options = {}) =>
    options.importNewKeys === true
      ? `transactional-update --non-interactive run zypper --non-interactive --gpg-auto-import-keys install -y ${packageList(packages)}`
      : `transactional-update --non-interactive pkg install ${packageList(packages)}`,
  packagesNeedReboot: true,
  reboot: () => "systemctl reboot",
  // zypper's locks live in /etc (writable on the running system) and every later transaction's
  // zypper reads them, so the daily `transactional-update dup` leaves a locked package alone.
  // addlock needs root but no writable root file system (zypper's AddLocksCmd conditions).
  lockPackages: (packages) => `zypper --non-interactive --quiet addlock ${packageList(packages)}`,
  unlockPackages: (packages) => `zypper --non-interactive --quiet removelock ${packageList(packages)}`,
  packageRepositoryFile: (name, repositories) => ({
    path: `${ZYPP_REPOS_DIR}/${checkPackageName(name)}.repo`,
    content: repositories
      .map((repo) =>
        [`[${checkPackageName(repo.id)}]`, `name=${repo.name}`, `baseurl=${repo.baseUrl}`, "enabled=1", "gpgcheck=1", "repo_gpgcheck=1", `gpgkey=${repo.gpgKey}`, ""].join("\n"),
      )
      .join("\n"),
  }),
  daemonReload: () => "systemctl daemon-reload",
  enableUnit: (name) => `systemctl enable ${unit(name)}`,
  disableUnit: (name, { now }) => `systemctl disable ${now ? "--now " : ""}${unit(name)}`,
  startUnit: (name) => `systemctl start --no-block ${unit(name)}`,
  restartUnit: (name) => `systemctl restart ${unit(name)}`,
  reloadUnit: (name) => `systemctl reload ${unit(name)}`,
  unitLog: (name, since) => `journalctl -q --no-pager -o cat -u ${unit(name)} --since @${Math.floor(since)}`,
  checkConfig,
  // `-a` fails when the port already has a type; `-m` then changes it.
  labelPorts: (ports, type) =>
    ports
      .map((port) => {
        const args = `-t ${shellQuote(type)} -p tcp ${checkPort(port)}`;
        return `semanage port -a ${args} 2>/dev/null || semanage port -m ${args}`;
      })
      .join("\n"),
  rebootSetup,
  kuredSentinel: KURED_SENTINEL,
  factsScript: (query) => factsScript(query, distroSections(query)),
  parseFacts,
};
