import type { Command } from "../command.ts";
import { apply } from "./apply.ts";
import { destroy } from "./destroy.ts";
import { graph } from "./graph.ts";
import { init } from "./init.ts";
import { kubeconfig } from "./kubeconfig.ts";
import { plan } from "./plan.ts";
import { render } from "./render.ts";
import { validate } from "./validate.ts";
import { version } from "./version.ts";

/** Every command, in the order `starbase help` lists them. A new command is one file plus one line here. */
export const commands: readonly Command[] = [validate, plan, apply, destroy, kubeconfig, graph, render, init, version];
