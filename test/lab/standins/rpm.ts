// rpm stand-in, queries only: `rpm -q NAME…`, `rpm -qa`, with `--qf/--queryformat` for
// %{NAME}, %{VERSION}, %{RELEASE}. It answers from the running snapshot's packages: a package
// that transactional-update installed is "not installed" until the next boot.
import { readState } from "./packages.ts";

function split(version: string): { version: string; release: string } {
  const dash = version.lastIndexOf("-");
  return dash < 0 ? { version, release: "0" } : { version: version.slice(0, dash), release: version.slice(dash + 1) };
}

function format(template: string, name: string, full: string): string {
  const { version, release } = split(full);
  return template
    .replaceAll("%{NAME}", name)
    .replaceAll("%{VERSION}", version)
    .replaceAll("%{RELEASE}", release)
    .replaceAll("\\n", "\n");
}

export function rpm(argv: string[]): number {
  let all = false;
  let query = false;
  let template = "%{NAME}-%{VERSION}-%{RELEASE}\\n";
  const names: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-q" || arg === "--query") query = true;
    else if (arg === "-qa" || arg === "-aq") (query = true), (all = true);
    else if (arg === "-a" || arg === "--all") all = true;
    else if (arg === "--qf" || arg === "--queryformat") template = argv[++i] ?? "";
    else if (arg.startsWith("--queryformat=")) template = arg.slice("--queryformat=".length);
    else if (arg.startsWith("-")) {
      console.error(`rpm: the lab stand-in answers queries only (-q, -qa, --qf), not ${arg}`);
      return 1;
    } else names.push(arg);
  }
  if (!query) {
    console.error("rpm: the lab stand-in answers queries only (-q, -qa, --qf)");
    return 1;
  }
  const { installed } = readState("/");
  if (all) {
    for (const name of Object.keys(installed).sort()) process.stdout.write(format(template, name, installed[name]!));
    return 0;
  }
  let missing = 0;
  for (const name of names) {
    const version = installed[name];
    if (version === undefined) {
      console.log(`package ${name} is not installed`);
      missing++;
    } else {
      process.stdout.write(format(template, name, version));
    }
  }
  return missing;
}
