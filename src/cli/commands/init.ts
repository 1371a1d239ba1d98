import { writeFileSync } from "node:fs";
import starterTemplate from "../../../templates/init.cluster.yaml.mustache" with { type: "text" };
import { buildInfo } from "../build-info.ts";
import { EXIT_ERROR, EXIT_OK, type Command } from "../command.ts";

export const init: Command = {
  name: "init",
  summary: "write a commented starter cluster.yaml",
  operands: "[FILE]",
  arity: [0, 1],
  options: [],
  description: [
    "Writes FILE, or prints to stdout when FILE is absent or `-`. An existing file is never",
    "overwritten. The starter validates as written; edit it to match your Proxmox cluster.",
    "JSON: {type: \"init\", file, written: true} (or, to stdout, {type: \"init\", content}).",
    "",
    "Exit codes: 0 written, 1 the file exists or cannot be written, 64 usage error.",
  ].join("\n"),
  async run({ args, out }) {
    const { renderTemplate } = await import("../../render/template.ts");
    const content = renderTemplate(starterTemplate, { version: buildInfo().version });
    const file = args.positionals[0] ?? "-";
    if (file === "-") {
      out.result(content);
      out.event({ type: "init", content });
      return EXIT_OK;
    }
    try {
      // "wx": fails when the file exists, without a check-then-write race.
      writeFileSync(file, content, { flag: "wx", mode: 0o644 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      out.error(code === "EEXIST" ? `${file} exists; not overwriting it` : `cannot write ${file}: ${(err as Error).message}`);
      return EXIT_ERROR;
    }
    out.message(`wrote ${file}; next: starbase validate ${file}`);
    out.event({ type: "init", file, written: true });
    return EXIT_OK;
  },
};
