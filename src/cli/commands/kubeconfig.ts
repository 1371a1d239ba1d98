import { join } from "node:path";
import type { OptionSpec } from "../args.ts";
import { EXIT_ERROR, EXIT_OK, EXIT_USAGE, type Command } from "../command.ts";

/** -o PATH of apply and kubeconfig: where the cluster's kubeconfig is written. */
export const kubeconfigOutOption: OptionSpec = {
  name: "out",
  short: "o",
  value: "PATH",
  description: "write the cluster's kubeconfig to PATH (default: <cluster>.kubeconfig beside FILE)",
};

export const kubeconfig: Command = {
  name: "kubeconfig",
  summary: "fetch the cluster's kubeconfig over SSH",
  operands: "FILE",
  arity: [1, 1],
  options: [
    kubeconfigOutOption,
    { name: "merge", value: "PATH", optionalValue: true, description: "merge into ~/.kube/config (or --merge=PATH) instead of writing a file of its own" },
  ],
  description: [
    "Reads /etc/rancher/rke2/rke2.yaml from the first server over SSH alone (ssh.user, ssh-agent or",
    "ssh.privateKey, through ssh.jumpHost; no Proxmox credentials), so it works from a jump host.",
    "The server becomes https://VIP:6443 and the cluster, user and context are named after the",
    "cluster. The file is written mode 0600 through a temporary file and a rename, and only when",
    "it differs: as <cluster>.kubeconfig beside FILE, or to -o PATH.",
    "--merge puts the entries into ~/.kube/config ($HOME of the command's environment), or PATH",
    "with --merge=PATH: only entries named after the cluster are replaced, the current context",
    "is kept when the file has one, the previous file is kept as <file>.starbase.bak; mode 0600.",
    "The kubeconfig is then used once through the VIP (/readyz and the node list, with its own",
    "credentials, the VIP's certificate checked against its CA; through ssh.jumpHost when there is",
    "one) and the nodes are counted.",
    "",
    "Exit codes: 0 written (or already up to date) and working, 1 error, 64 usage error.",
  ].join("\n"),
  async run(ctx) {
    const { args, out, env } = ctx;
    const file = args.positionals[0]!;
    const outPath = args.options.get("out");
    const merge = args.options.get("merge");
    if (merge !== undefined && outPath !== undefined) {
      out.error("-o and --merge exclude each other: --merge=PATH names the file to merge into");
      return EXIT_USAGE;
    }
    let mergeInto: string | undefined;
    if (merge === true) {
      const home = env.HOME;
      if (home === undefined || home === "") {
        out.error("--merge: HOME is not set; name the file with --merge=PATH");
        return EXIT_USAGE;
      }
      mergeInto = join(home, ".kube", "config");
    } else if (typeof merge === "string") mergeInto = merge;
    const { withClusterSession } = await import("../session.ts");
    return withClusterSession(ctx, file, async (session) => {
      const { fetchClusterKubeconfig, verifyKubeconfig } = await import("../../steps/cluster/kubeconfig.ts");
      const { defaultKubeconfigPath, mergeIntoFile, writeIfDifferent } = await import("../../kube/kubeconfig-file.ts");
      const { errorMessage } = await import("../../engine/index.ts");
      const { explainSshError } = await import("../../plan/cluster.ts");
      const cluster = session.inventory.spec.name;
      try {
        const text = await fetchClusterKubeconfig(session.run);
        let said: string;
        let written: { path: string; written: boolean; backup?: string };
        if (mergeInto !== undefined) {
          const merged = mergeIntoFile(mergeInto, text, cluster);
          said = !merged.written
            ? `${mergeInto}: the entries of ${cluster} are up to date`
            : `${mergeInto}: ${merged.replaced ? "replaced" : "added"} the entries of ${cluster}${merged.backup === undefined ? "" : ` (previous file kept as ${merged.backup})`}; current context ${merged.currentContext}`;
          written = { path: mergeInto, written: merged.written, ...(merged.backup !== undefined && { backup: merged.backup }) };
        } else {
          const path = typeof outPath === "string" ? outPath : defaultKubeconfigPath(file, cluster);
          const difference = writeIfDifferent(path, text);
          said = difference === "same" ? `${path} is up to date` : `wrote ${path}`;
          written = { path, written: difference !== "same" };
        }
        const nodes = await verifyKubeconfig(session.run, text, "the kubeconfig");
        out.event({ type: "kubeconfig", cluster, ...written, merged: mergeInto !== undefined, nodes });
        out.result(`${said}\n${nodes.length} node${nodes.length === 1 ? "" : "s"} through the VIP, ${nodes.filter((n) => n.ready).length} Ready: ${nodes.map((n) => n.name).join(", ")}\n`);
        return EXIT_OK;
      } catch (err) {
        out.error(`${file}: ${errorMessage(explainSshError(err))}`);
        return EXIT_ERROR;
      }
    });
  },
};
