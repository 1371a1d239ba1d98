import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import type { RenderSecrets } from "../../render/index.ts";
import { formatDiagnostic, toDiagnostic } from "../../spec/diagnostics.ts";
import { SpecReferenceError } from "../../spec/references.ts";
import { counted } from "../../ui/words.ts";
import { UsageError } from "../args.ts";
import { EXIT_ERROR, EXIT_OK, type Command } from "../command.ts";
import { loadReportedCluster } from "../load-cluster.ts";

export const render: Command = {
  name: "render",
  summary: "write every file starbase would put on the hosts into a directory, for review",
  operands: "FILE",
  arity: [1, 1],
  options: [{ name: "out", value: "DIR", required: true, description: "directory to write into (created when missing); required" }],
  description: [
    "Writes DIR/<host>/cidata/{user-data,meta-data,network-config} (the cloud-init seed),",
    "DIR/<host>/<path> for every file written on the node (e.g. DIR/lb01/etc/haproxy/haproxy.cfg)",
    "and DIR/known_hosts with the host key of every VM. Files keep their modes: those holding",
    "a secret (private host keys, VRRP password, RKE2 config) are 0600.",
    "Needs ssh.hostKeySecret (and loadBalancer.vrrp.authPass when set) to be readable; their",
    "values are never printed. Existing files in DIR are overwritten, nothing is deleted.",
    "JSON: {type: \"file\", host?, path, scope?, mode} per file, then {type: \"summary\", out, files}.",
    "",
    "Exit codes: 0 written, 1 error (invalid spec, unreadable secret, unwritable DIR), 64 usage error.",
  ].join("\n"),
  async run({ args, out, env }) {
    const outDir = args.options.get("out");
    if (typeof outDir !== "string" || outDir === "") throw new UsageError("render needs --out DIR", "render");
    const { loaded, inventory } = await loadReportedCluster(out, args.positionals[0]!, env);
    if (inventory === undefined) return EXIT_ERROR;
    const { readRenderSecrets } = await import("../../plan/secrets.ts");
    const { renderHost, knownHosts } = await import("../../render/index.ts");

    let secrets: RenderSecrets;
    try {
      secrets = readRenderSecrets(inventory.spec, loaded.dir, env);
    } catch (err) {
      if (!(err instanceof SpecReferenceError)) throw err;
      out.error(formatDiagnostic(toDiagnostic(loaded, err.issue)));
      return EXIT_ERROR;
    }

    const root = resolve(outDir);
    const files = [
      ...inventory.hosts.flatMap((host) =>
        renderHost(inventory, host, secrets).map((file) => ({
          ...file,
          host: host.name,
          target: join(root, host.name, file.scope === "seed" ? join("cidata", file.path) : file.path),
        })),
      ),
      { path: "known_hosts", content: knownHosts(inventory, secrets.hostKeySecret), mode: 0o644, target: join(root, "known_hosts") },
    ];
    try {
      for (const file of files) {
        // Host names and node paths come from the spec and render/; never let one escape DIR.
        if (!file.target.startsWith(root + sep)) throw new Error(`refusing to write ${file.target}: outside ${root}`);
        mkdirSync(dirname(file.target), { recursive: true });
        writeFileSync(file.target, file.content, { mode: file.mode });
        // The mode option applies only to a new file; a re-render must tighten an existing one too.
        chmodSync(file.target, file.mode);
      }
    } catch (err) {
      out.error(`cannot write into ${outDir}: ${(err as Error).message}`);
      return EXIT_ERROR;
    }

    for (const file of files) {
      const { content: _content, target, ...shown } = file;
      out.event({ type: "file", ...shown, path: relative(root, target), mode: modeText(file.mode) });
    }
    out.event({ type: "summary", out: outDir, files: files.length });
    const listing = files.map((f) => `  ${modeText(f.mode)}  ${relative(root, f.target)}`).join("\n");
    out.result(`${listing}\nwrote ${counted(files.length, "file")} for ${counted(inventory.hosts.length, "host")} into ${outDir}\n`);
    return EXIT_OK;
  },
};

function modeText(mode: number): string {
  return mode.toString(8).padStart(4, "0");
}
