import { counted } from "../../ui/words.ts";
import { EXIT_ERROR, EXIT_OK, type Command } from "../command.ts";
import { countBySeverity, reportDiagnostics } from "../diagnostics.ts";

const EXIT_INVALID = 2;

export const validate: Command = {
  name: "validate",
  summary: "check cluster.yaml against the schema and every semantic rule, reporting all problems at once",
  operands: "FILE",
  arity: [1, 1],
  options: [],
  description: [
    "Each problem is printed on stderr as FILE:LINE:COL: error|warning: message, with a hint",
    "when there is one. Schema and semantic problems are reported together. No network is used.",
    "Secrets and the CA file are checked where they are available (a set variable, an existing",
    "file): a secret file must be a regular file readable only by its owner, ssh.hostKeySecret at",
    "least 16 bytes, the CA file PEM. Their values are never printed.",
    "JSON: one {type: \"diagnostic\", severity, file, line, col, message, hint?} per problem, then",
    "{type: \"summary\", valid, errors, warnings}.",
    "",
    "Exit codes: 0 valid (warnings are printed), 2 invalid, 1 the file cannot be read, 64 usage error.",
  ].join("\n"),
  async run({ args, out, env }) {
    const file = args.positionals[0]!;
    const { loadCluster } = await import("../../plan/load.ts");
    const cluster = await loadCluster(file, env);
    reportDiagnostics(out, cluster.diagnostics);
    const { errors, warnings } = countBySeverity(cluster.diagnostics);
    const inv = cluster.inventory;
    // No document at all: the file could not be read, which is an error, not an invalid spec.
    if (cluster.loaded.doc === undefined) return EXIT_ERROR;
    out.event({ type: "summary", valid: inv !== undefined, errors, warnings });
    const counts = `${counted(errors, "error")}, ${counted(warnings, "warning")}`;
    if (inv === undefined) {
      out.message(out.errStyle.red(`${file}: invalid (${counts})`));
      return EXIT_INVALID;
    }
    const hosts = [
      counted(inv.loadBalancers.length, "load balancer"),
      counted(inv.servers.length, "server"),
      counted(inv.agents.length, "agent"),
    ].join(", ");
    out.result(`${out.outStyle.green(`${file}: valid`)} (${hosts}; ${counts})\n`);
    return EXIT_OK;
  },
};
