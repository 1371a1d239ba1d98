import { closedPipeQuits } from "./cli/closed-pipe.ts";
import { runCli } from "./cli/run.ts";

// No top-level await: the compiled binary is a CommonJS bundle (bytecode needs it).
// exitCode instead of process.exit(): pending writes to a pipe are flushed before the process ends.
// The only place that reads the process's environment and stdin: commands get them through their context.
const terminal = { stdin: process.stdin, stdout: closedPipeQuits(process.stdout), stderr: closedPipeQuits(process.stderr), env: process.env };
void runCli(process.argv.slice(2), terminal).then((code) => {
  process.exitCode = code;
});
