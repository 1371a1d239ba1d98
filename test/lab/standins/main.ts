// Entry of the MicroOS stand-ins inside a lab host: /usr/sbin/transactional-update,
// /usr/bin/rebootmgrctl, /usr/sbin/semanage, /usr/sbin/getenforce, /usr/bin/rpm and /usr/bin/zypper are
// wrappers that run `bun /opt/starbase-lab/src/standins/main.ts TOOL ARGS…`. Every call is
// appended to /var/log/starbase-lab/calls.jsonl ({time, tool, args, exit}) for tests to read.
import { appendFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { rebootmgrctl } from "./rebootmgrctl.ts";
import { rpm } from "./rpm.ts";
import { getenforce, semanage } from "./selinux.ts";
import { transactionalUpdate } from "./transactional-update.ts";
import { zypper } from "./zypper.ts";

export const CALL_LOG = "/var/log/starbase-lab/calls.jsonl";

const TOOLS: Record<string, (args: string[]) => number | Promise<number>> = {
  "transactional-update": transactionalUpdate,
  rebootmgrctl,
  semanage,
  getenforce,
  rpm,
  zypper,
};

const [tool = "", ...args] = process.argv.slice(2);
const handler = TOOLS[tool];
let exit = 2;
if (handler === undefined) {
  console.error(`starbase lab: no stand-in ${tool}`);
} else {
  try {
    exit = await handler(args);
  } catch (error) {
    console.error(`${tool}: ${(error as Error).message}`);
    exit = 1;
  }
}
mkdirSync(dirname(CALL_LOG), { recursive: true });
appendFileSync(CALL_LOG, `${JSON.stringify({ time: new Date().toISOString(), tool, args, exit })}\n`);
process.exit(exit);
