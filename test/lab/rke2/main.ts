// The RKE2 stand-in: `bun main.ts server|agent`, run by rke2-server.service / rke2-agent.service in
// the lab's hosts (README.md says what is real and what stands in). A config RKE2 would refuse and a
// failed join end the process with status 1 and the reason in the journal and the records, as
// RKE2's fatal errors do; systemd then restarts it (Restart=always, like RKE2's units).

import { ConfigError, loadConfig, type Role } from "./config.ts";
import { loadHost } from "./host.ts";
import { runAgent } from "./agent.ts";
import { runServer } from "./server.ts";
import { log, record, setRecordContext } from "./records.ts";

const startedAt = Date.now();
const role = process.argv[2];
if (role !== "server" && role !== "agent") {
  process.stderr.write("usage: main.ts server|agent\n");
  process.exit(2);
}

async function main(role: Role): Promise<void> {
  const host = loadHost();
  setRecordContext(host.name, `rke2-${role}`);
  let config;
  try {
    config = loadConfig(role);
  } catch (error) {
    if (error instanceof ConfigError) record({ event: "config-refused", reason: error.message });
    throw error;
  }
  for (const warning of config.warnings) log("warning", warning);
  if (role === "server") await runServer(host, config, startedAt);
  else await runAgent(host, config, startedAt);
}

main(role).catch((error: Error) => {
  log("fatal", error.message);
  record({ event: "exit", reason: error.message, code: 1 });
  process.exit(1);
});
