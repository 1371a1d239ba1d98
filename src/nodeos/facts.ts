// The distribution-neutral half of the batched read: the script prints one tab-separated record
// per line (`<tag>\t<key>\t<value>…`) and a final `end` line, so output cut short is detected
// instead of being read as "file missing" or "unit stopped".
import { checkFactPath, checkUnitName, shellQuote } from "./shell.ts";
import { type FactsQuery, FactsParseError, type FileFact, type UnitFact } from "./types.ts";

export const END_RECORD = "end";

/** The os, file, exists and unit sections; `distroSections` come between them and `end`. */
export function factsScript(query: FactsQuery, distroSections: readonly string[]): string {
  const files = query.files.map((path) => shellQuote(checkFactPath(path))).join(" ");
  const exists = query.exists.map((path) => shellQuote(checkFactPath(path))).join(" ");
  const units = query.units.map((unit) => shellQuote(checkUnitName(unit))).join(" ");
  const lines = [
    "set +e",
    "export LC_ALL=C",
    // os-release values are shell assignments; read them in a subshell so they cannot leak.
    `(. /etc/os-release 2>/dev/null; printf 'os\\t%s\\t%s\\t%s\\t%s\\n' "$ID" "$VERSION_ID" "$ID_LIKE" "$PRETTY_NAME")`,
  ];
  if (files !== "") {
    // One stat and one sha256sum for all present files, not a few processes per file: on a busy
    // host every process counts (the no-op check of bench/ssh.ts). A file that goes away in
    // between gets only one of its two records, which the parser refuses.
    lines.push(
      "set --",
      `for p in ${files}; do if [ -f "$p" ]; then set -- "$@" "$p"; else printf 'file\\t%s\\t-\\n' "$p"; fi; done`,
      "if [ $# -gt 0 ]; then",
      `  stat --printf 'filemode\\t%n\\t%a %U:%G\\n' -- "$@"`,
      `  sha256sum -- "$@" | while read -r h n; do printf 'filehash\\t%s\\t%s\\n' "$n" "$h"; done`,
      "fi",
    );
  }
  if (exists !== "") {
    lines.push(`for p in ${exists}; do if [ -e "$p" ]; then e=1; else e=0; fi; printf 'exists\\t%s\\t%s\\n' "$p" "$e"; done`);
  }
  if (units !== "") {
    lines.push(
      `for u in ${units}; do`,
      `  systemctl show -p LoadState -p ActiveState -p UnitFileState -p ActiveEnterTimestampMonotonic "$u" 2>/dev/null |`,
      `    while IFS= read -r l; do printf 'unit\\t%s\\t%s\\n' "$u" "$l"; done`,
      `done`,
    );
  }
  if ((query.addresses ?? []).length > 0) {
    // `addresses` says the listing ran: without it an address would read as "not held".
    lines.push(
      `if a=$(ip -o -4 address show 2>/dev/null); then printf 'addresses\\n'`,
      `  printf '%s\\n' "$a" | while read -r n d f c r; do [ "$f" = inet ] && printf 'addr\\t%s\\t%s\\n' "\${c%/*}" "\${d%@*}"; done`,
      "fi",
    );
  }
  lines.push(...distroSections, `printf '${END_RECORD}\\n'`);
  return `${lines.join("\n")}\n`;
}

/** The script's output split into records; throws when the end record is missing. */
export function factRecords(output: string): string[][] {
  const lines = output.split("\n");
  if (lines.at(-1) === "") lines.pop();
  if (lines.at(-1) !== END_RECORD) {
    throw new FactsParseError("the node's facts ended early (no end record): the connection or the shell was cut off");
  }
  lines.pop();
  return lines.map((line) => line.split("\t"));
}

export interface CommonFacts {
  os: { id: string; versionId: string; idLike: string[]; prettyName: string };
  files: Map<string, FileFact | null>;
  exists: Map<string, boolean>;
  units: Map<string, UnitFact>;
  addresses: Map<string, string | null>;
}

/** A present file's two records, `filemode` (stat) and `filehash` (sha256sum), as one fact. */
function fileFact(path: string, sha256: string | undefined, modeAndOwner: string | undefined): FileFact {
  if (sha256 === undefined || modeAndOwner === undefined) throw new FactsParseError(`no fact for file ${path}`);
  const [mode, owner] = modeAndOwner.split(" ");
  if (!/^[0-9a-f]{64}$/.test(sha256) || !/^[0-7]{3,4}$/.test(mode ?? "") || owner === undefined) {
    throw new FactsParseError(`unreadable file fact for ${path}: ${sha256} ${modeAndOwner}`);
  }
  return { sha256, mode: Number.parseInt(mode as string, 8), owner };
}

function addUnitProperty(units: Map<string, UnitFact>, unit: string, property: string): void {
  const fact = units.get(unit) ?? { load: "", active: "", enabled: "", activeSince: 0 };
  const equals = property.indexOf("=");
  const key = property.slice(0, equals);
  const value = property.slice(equals + 1);
  if (key === "LoadState") fact.load = value;
  else if (key === "ActiveState") fact.active = value;
  else if (key === "UnitFileState") fact.enabled = value;
  else if (key === "ActiveEnterTimestampMonotonic") fact.activeSince = Number(value) || 0;
  units.set(unit, fact);
}

/** Reads the common records and hands every other record to `other`. Every queried key must be answered. */
export function parseCommonFacts(query: FactsQuery, records: string[][], other: (fields: string[]) => void): CommonFacts {
  let os: CommonFacts["os"] | undefined;
  const files = new Map<string, FileFact | null>();
  const hashes = new Map<string, string>();
  const modes = new Map<string, string>();
  const exists = new Map<string, boolean>();
  const units = new Map<string, UnitFact>();
  const asked = query.addresses ?? [];
  const addresses = new Map<string, string | null>(asked.map((address) => [address, null]));
  let listed = false;
  for (const fields of records) {
    const [tag, key = ""] = fields;
    if (tag === "os") {
      os = { id: key, versionId: fields[2] ?? "", idLike: (fields[3] ?? "").split(" ").filter(Boolean), prettyName: fields[4] ?? "" };
    } else if (tag === "file") {
      if (fields[2] !== "-" || fields.length !== 3) throw new FactsParseError(`unreadable file fact for ${key}: ${fields.slice(2).join(" ")}`);
      files.set(key, null);
    } else if (tag === "filehash") hashes.set(key, fields[2] ?? "");
    else if (tag === "filemode") modes.set(key, fields[2] ?? "");
    else if (tag === "exists") exists.set(key, fields[2] === "1");
    else if (tag === "unit") addUnitProperty(units, key, fields.slice(2).join("\t"));
    else if (tag === "addresses") listed = true;
    else if (tag === "addr") {
      if (addresses.get(key) === null) addresses.set(key, fields[2] ?? "");
    } else other(fields);
  }
  if (os === undefined) throw new FactsParseError("the node did not say which operating system it runs (/etc/os-release)");
  for (const path of query.files) {
    if (!files.has(path)) files.set(path, fileFact(path, hashes.get(path), modes.get(path)));
  }
  for (const path of query.exists) if (!exists.has(path)) throw new FactsParseError(`no fact for path ${path}`);
  // systemctl prints nothing at all when systemd is unreachable; a unit it does not know still has LoadState=not-found.
  for (const unit of query.units) if (!units.has(unit)) throw new FactsParseError(`systemd said nothing about ${unit}`);
  if (asked.length > 0 && !listed) throw new FactsParseError("the node did not list its addresses (ip -o -4 address show)");
  return { os, files, exists, units, addresses };
}
