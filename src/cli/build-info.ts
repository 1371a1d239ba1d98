import packageJson from "../../package.json" with { type: "json" };

// build.ts replaces these identifiers with string literals (bun build --define); when
// starbase runs from source they stay undeclared and the fallbacks below apply.
declare const STARBASE_VERSION: string | undefined;
declare const STARBASE_COMMIT: string | undefined;

export interface BuildInfo {
  version: string;
  commit: string;
}

export function buildInfo(): BuildInfo {
  return {
    version: typeof STARBASE_VERSION === "string" ? STARBASE_VERSION : packageJson.version,
    commit: typeof STARBASE_COMMIT === "string" ? STARBASE_COMMIT : sourceCommit(),
  };
}

/** The checkout's commit when running from source; "unknown" without git or outside a checkout. */
function sourceCommit(): string {
  try {
    const git = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], {
      cwd: import.meta.dir,
      stdout: "pipe",
      stderr: "ignore",
    });
    const commit = git.stdout.toString().trim();
    return git.exitCode === 0 && commit !== "" ? commit : "unknown";
  } catch {
    // spawn itself fails when git is not installed
    return "unknown";
  }
}
