// cloud-init's own report of the first boot, the same on every distribution starbase seeds:
// `cloud-init status` (done, running, error …) and the tail of its output log for a failure.
import { shellQuote } from "./shell.ts";

export type CloudInitState = "done" | "running" | "error" | "disabled" | "not-run" | "degraded";

export interface CloudInitStatus {
  state: CloudInitState;
  /** The errors `--long` lists (module failures), for the message of a failed host. */
  errors: string[];
}

export const CLOUD_INIT_OUTPUT_LOG = "/var/log/cloud-init-output.log";

/** Prints the status; `--long` adds the errors. Its exit status says little across versions: the text is read. */
export function cloudInitStatusCommand(): string {
  return "cloud-init status --long";
}

/**
 * Waits for cloud-init to finish, at most `seconds` (then exits 124). `--wait` polls until the
 * last stage wrote its result.
 */
export function cloudInitWaitCommand(seconds: number): string {
  return `timeout ${Math.max(1, Math.ceil(seconds))} cloud-init status --wait --long`;
}

export function cloudInitLogTailCommand(lines: number): string {
  return `tail -n ${lines} ${shellQuote(CLOUD_INIT_OUTPUT_LOG)} 2>/dev/null || true`;
}

const STATES: Record<string, CloudInitState> = {
  done: "done",
  running: "running",
  error: "error",
  disabled: "disabled",
  "not run": "not-run",
  "degraded done": "degraded",
  "degraded running": "running",
  "degraded error": "error",
};

/** Reads `cloud-init status [--long]` output; undefined when it has no status line it knows. */
export function parseCloudInitStatus(output: string): CloudInitStatus | undefined {
  const lines = output.split("\n");
  const status = lines.map((line) => /^status:\s*(.+?)\s*$/.exec(line)?.[1]).find((s) => s !== undefined);
  const state = status === undefined ? undefined : STATES[status];
  if (state === undefined) return undefined;
  // 23.x+ lists "errors:" with indented "- …" lines; 22.x has only "detail:" and the lines after it.
  const errors: string[] = [];
  let section: string | undefined;
  for (const line of lines) {
    const key = /^([a-z_]+):\s*(.*)$/.exec(line);
    if (key !== null) {
      section = key[1];
      const inline = (key[2] ?? "").trim();
      if (section === "errors" && inline !== "" && inline !== "[]") errors.push(inline);
      continue;
    }
    const text = line.trim().replace(/^-\s*/, "");
    if (text !== "" && (section === "errors" || (section === "detail" && state === "error"))) errors.push(text);
  }
  return { state, errors: [...new Set(errors)] };
}
