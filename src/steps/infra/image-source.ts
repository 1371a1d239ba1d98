// Which image file the run wants on Proxmox: its URL, its SHA-256 (from the spec, or read from
// image.checksumUrl by starbase itself, once per command) and the name it is stored under. The name carries the
// checksum, so "a file of that name is there" means "the right image is there", and a rolling
// upstream URL is downloaded again only when its content changed.

import { basename } from "node:path";
import { errorMessage } from "../../engine/index.ts";
import type { ImageSpec } from "../../spec/types.ts";

export interface ImageSource {
  url: string;
  sha256: string;
  /** <stem>-<sha256[0:12]>.<qcow2|raw|vmdk>, only characters Proxmox keeps in file names. */
  fileName: string;
}

const IMPORT_EXTENSIONS = [".qcow2", ".raw", ".vmdk"];
const SHA256 = /^[0-9a-f]{64}$/;
const CHECKSUM_FETCH_TIMEOUT_MS = 30_000;

async function fetchText(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(CHECKSUM_FETCH_TIMEOUT_MS) });
  if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`.trim());
  return res.text();
}

/** The checksum for `name` in a sha256sum ("<hex>  name") or BSD ("SHA256 (name) = <hex>") listing. */
export function checksumFromListing(listing: string, name: string): string | undefined {
  const entries: { hash: string; file: string }[] = [];
  for (const line of listing.split(/\r?\n/)) {
    const gnu = /^([0-9a-fA-F]{64})(?:\s+\*?(\S.*))?$/.exec(line.trim());
    const bsd = /^SHA256 \((.+)\) = ([0-9a-fA-F]{64})$/.exec(line.trim());
    if (gnu !== null) entries.push({ hash: gnu[1]!.toLowerCase(), file: basename(gnu[2]?.trim() ?? "") });
    else if (bsd !== null) entries.push({ hash: bsd[2]!.toLowerCase(), file: basename(bsd[1]!) });
  }
  const named = entries.find((e) => e.file === name);
  if (named !== undefined) return named.hash;
  const hashes = new Set(entries.map((e) => e.hash));
  return hashes.size === 1 ? [...hashes][0] : undefined;
}

function urlHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

function urlFileName(url: string): string {
  try {
    return decodeURIComponent(basename(new URL(url).pathname));
  } catch {
    return "";
  }
}

/** Proxmox keeps [a-zA-Z0-9_.-] in stored file names and turns everything else into "_". */
function proxmoxFileName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_.-]/g, "_");
}

export function storedImageName(image: ImageSpec, sha256: string): string {
  const name = image.fileName ?? urlFileName(image.url);
  const extension = IMPORT_EXTENSIONS.find((ext) => name.endsWith(ext));
  if (extension === undefined) {
    throw new Error(`image: cannot tell the image format from "${name}"; set image.fileName to a name ending in ${IMPORT_EXTENSIONS.join(", ")}`);
  }
  return proxmoxFileName(`${name.slice(0, -extension.length)}-${sha256.slice(0, 12)}${extension}`);
}

export async function resolveImage(image: ImageSpec): Promise<ImageSource> {
  let sha256 = image.checksum?.toLowerCase();
  if (sha256 === undefined) {
    if (image.checksumUrl === undefined) throw new Error("image: set image.checksum or image.checksumUrl; starbase never imports an unchecked image");
    let listing: string;
    try {
      listing = await fetchText(image.checksumUrl);
    } catch (err) {
      // Read here, on the machine that runs starbase (not by Proxmox): one without internet needs the checksum pinned.
      const host = urlHost(image.checksumUrl);
      throw new Error(`image.checksumUrl ${image.checksumUrl} could not be read: ${errorMessage(err)}; `
        + `pin image.checksum (the image's SHA-256) to run without reaching ${host}`);
    }
    sha256 = checksumFromListing(listing, urlFileName(image.url));
    if (sha256 === undefined) throw new Error(`image.checksumUrl ${image.checksumUrl} has no SHA-256 for ${urlFileName(image.url)}`);
  }
  if (!SHA256.test(sha256)) throw new Error(`image.checksum "${sha256}" is not a SHA-256 (64 hex digits)`);
  return { url: image.url, sha256, fileName: storedImageName(image, sha256) };
}

export function importVolid(storage: string, fileName: string): string {
  return `${storage}:import/${fileName}`;
}
