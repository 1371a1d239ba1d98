import { buildInfo } from "../build-info.ts";
import { EXIT_OK, type Command } from "../command.ts";

export const version: Command = {
  name: "version",
  summary: "print the version and the git commit it was built from",
  operands: "",
  arity: [0, 0],
  options: [],
  description: "Also available as `starbase --version`. JSON: {type: \"version\", version, commit}.",
  async run({ out }) {
    const info = buildInfo();
    out.result(`starbase ${info.version} (commit ${info.commit})\n`);
    out.event({ type: "version", ...info });
    return EXIT_OK;
  },
};
