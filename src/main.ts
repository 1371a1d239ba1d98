import { runCli } from "./cli/run.ts";

// No top-level await: the compiled binary is a CommonJS bundle (bytecode needs it).
// exitCode instead of process.exit(): pending writes to a pipe are flushed before the process ends.
void runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then((code) => {
  process.exitCode = code;
});
