// The kubeconfig on this machine: written whole through a temporary file and a rename (a reader
// never sees half a file, a crash leaves the old one), mode 0600 (it holds the admin's client
// key), and only when its content or mode differs, so a second apply writes nothing.
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { mergeKubeconfig } from "../render/kubeconfig.ts";

export const KUBECONFIG_MODE = 0o600;

/** `<cluster>.kubeconfig` beside the spec file, as RKE1 writes kube_config_cluster.yml beside cluster.yml. */
export function defaultKubeconfigPath(specFile: string, cluster: string): string {
  return join(dirname(resolve(specFile)), `${cluster}.kubeconfig`);
}

export interface LocalFile {
  text: string;
  mode: number;
}

/** The file's text and permission bits, or null when it does not exist. */
export function readLocalFile(path: string): LocalFile | null {
  try {
    const text = readFileSync(path, "utf8");
    return { text, mode: statSync(path).mode & 0o7777 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw err;
  }
}

/** How a kubeconfig on disk compares with the one wanted. */
export type FileDifference = "missing" | "content" | "mode" | "same";

export function compareLocal(have: LocalFile | null, text: string): FileDifference {
  if (have === null) return "missing";
  if (have.text !== text) return "content";
  return have.mode === KUBECONFIG_MODE ? "same" : "mode";
}

/** Writes `text` to `path` (0600) through a temporary file beside it, synced, then renamed over it. */
export function writeAtomically(path: string, text: string): void {
  const dir = dirname(resolve(path));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const temporary = join(dir, `.${basename(path)}.starbase-${process.pid}`);
  const fd = openSync(temporary, "w", KUBECONFIG_MODE);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(temporary, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(temporary, path);
}

/** Writes when content or mode differs; says what it found. */
export function writeIfDifferent(path: string, text: string): FileDifference {
  const difference = compareLocal(readLocalFile(path), text);
  if (difference !== "same") writeAtomically(path, text);
  return difference;
}

export interface MergeOutcome {
  /** False when the file already held exactly these entries: nothing written. */
  written: boolean;
  /** The previous file's copy, when there was one and it changed. */
  backup?: string;
  /** The file's current context afterwards. */
  currentContext: string;
  /** Entries named after the cluster were there before and were replaced. */
  replaced: boolean;
}

/**
 * Puts the cluster's entries into the kubeconfig at `path` (replacing only entries named after
 * the cluster); the previous file is kept as `<path>.starbase.bak` before it is replaced.
 */
export function mergeIntoFile(path: string, ours: string, cluster: string): MergeOutcome {
  const have = readLocalFile(path);
  const merged = mergeKubeconfig(have?.text ?? "", ours, cluster, path);
  if (have !== null && have.text === merged.text && have.mode === KUBECONFIG_MODE) {
    return { written: false, currentContext: merged.currentContext, replaced: merged.replaced };
  }
  let backup: string | undefined;
  if (have !== null) {
    backup = `${path}.starbase.bak`;
    // 0600 like the file: the copy holds the same credentials.
    writeAtomically(backup, have.text);
  }
  writeAtomically(path, merged.text);
  return { written: true, ...(backup !== undefined && { backup }), currentContext: merged.currentContext, replaced: merged.replaced };
}
