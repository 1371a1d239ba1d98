// The node operating systems starbase knows, one line each; the first whose matcher accepts a
// node's /etc/os-release drives it.
import { microos } from "./microos.ts";
import type { NodeOs } from "./types.ts";

export type { ConfigKind, FactsQuery, FileFact, NodeFacts, NodeOs, PackageRepository, RebootSetup, RebootWindow, SelinuxMode, UnitFact } from "./types.ts";
export { FactsParseError } from "./types.ts";

const KNOWN: readonly NodeOs[] = [microos];

/** The OS starbase installs: every VM boots the MicroOS image (render needs it before a node answers). */
export const DEFAULT_NODE_OS: NodeOs = microos;

/** The adapter for a node's os-release, or undefined when starbase does not know that system. */
export function nodeOsFor(osRelease: { id: string; idLike: readonly string[] }): NodeOs | undefined {
  return KNOWN.find((os) => os.matches(osRelease));
}
