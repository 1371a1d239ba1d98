// The RKE2 release a run installs: the spec's pinned `rke2.version`, or its channel resolved
// once per run, so that every node this run installs gets the same release even when the channel
// moves during the run. The release comes from Rancher's RPM repository for MicroOS (install.sh's
// rpm method), whose packages carry it as an RPM version (`v1.33.4+rke2r1` → `1.33.4~rke2r1`).
import type { Inventory } from "../../inventory/types.ts";
import type { PackageRepository } from "../../nodeos/index.ts";
import { shellQuote } from "../../nodeos/shell.ts";
import type { ClusterRun } from "./context.ts";

/** install.sh's INSTALL_RKE2_CHANNEL_URL default; the schema gives the same. */
export const DEFAULT_CHANNEL_URL = "https://update.rke2.io/v1-release/channels";
const RELEASE = /^v(\d+)\.(\d+)\.(\d+)\+rke2r(\d+)$/;
/** Seconds the channel server may take (curl on the first server). */
const CHANNEL_TIMEOUT_SECONDS = 20;

export class Rke2VersionError extends Error {
  override readonly name = "Rke2VersionError";
}

/** `v1.33.4+rke2r1` → `1.33.4~rke2r1` (install.sh: `+` and `-` become `~`, the `v` goes). */
export function rpmVersion(release: string): string {
  return release.replace(/^v/, "").replace(/[+-]/g, "~");
}

/** An installed `VERSION-RELEASE` (`1.33.4~rke2r1-0.sle`) → the RKE2 release `v1.33.4+rke2r1`. */
export function releaseOfRpm(installed: string): string {
  const dash = installed.lastIndexOf("-");
  const version = dash < 0 ? installed : installed.slice(0, dash);
  return `v${version.replace("~", "+")}`;
}

/** `v1.33.4+rke2r1` → `1.33`: Rancher's repositories hold one minor each. */
export function minorOf(release: string): string {
  const match = RELEASE.exec(release);
  if (match === null) throw new Rke2VersionError(`not an RKE2 release: ${JSON.stringify(release)}`);
  return `${match[1]}.${match[2]}`;
}

/** The shell text that asks the channel server and prints where it redirects to (nothing is downloaded). */
export function channelQuery(url: string): string {
  return `curl -sS --proto '=https,http' --max-time ${CHANNEL_TIMEOUT_SECONDS} -o /dev/null -w '%{http_code} %{redirect_url}\\n' ${shellQuote(url)}`;
}

/** The release in the channel server's answer (a 3xx whose Location ends in the release). */
export function parseChannelAnswer(url: string, answer: string): string {
  const [status = "", location = ""] = answer.trim().split(" ");
  if (!/^3\d\d$/.test(status) || location === "") {
    throw new Rke2VersionError(`the channel server ${url} answered ${status || "nothing"} without a redirect to a release`);
  }
  const release = decodeURIComponent(location.replace(/\/+$/, "").split("/").at(-1) ?? "");
  if (!RELEASE.test(release)) throw new Rke2VersionError(`the channel server ${url} redirected to ${location}, which names no RKE2 release`);
  return release;
}

/** The channel's URL on the spec's channel server. */
export function channelUrl(inv: Inventory): string {
  const { rke2 } = inv.spec;
  return `${rke2.channelUrl ?? DEFAULT_CHANNEL_URL}/${rke2.channel ?? "stable"}`;
}

/** The release this run installs: the pinned one, or the channel's, asked once per run on the first server. */
export function wantedRelease(run: ClusterRun): Promise<string> {
  const pinned = run.inv.spec.rke2.version;
  if (pinned !== undefined) return Promise.resolve(pinned);
  return run.once("rke2-release", async () => {
    const url = channelUrl(run.inv);
    const first = run.inv.firstServer;
    const result = await run.ssh(first).exec(channelQuery(url), { description: `resolve the RKE2 channel ${url}` });
    if (result.code !== 0) throw new Rke2VersionError(`${first.name}: asking the channel server ${url} failed (exit ${result.code}): ${result.stderr.trim()}`);
    return parseChannelAnswer(url, result.stdout);
  });
}

/**
 * Rancher's repositories for the release's minor (install.sh `do_install_rpm`, MicroOS infix): the
 * common one (rke2-common's SELinux policy) and the minor's. A `latest` or `testing` channel takes
 * that RPM channel; every other run (a pinned release, `stable`, a minor line) takes `stable`.
 */
export function rancherRepositories(inv: Inventory, release: string): PackageRepository[] {
  const channel = inv.spec.rke2.channel === "latest" || inv.spec.rke2.channel === "testing" ? inv.spec.rke2.channel : "stable";
  const site = channel === "testing" ? "https://rpm-testing.rancher.io" : "https://rpm.rancher.io";
  const minor = minorOf(release);
  return [
    { id: `rancher-rke2-common-${channel}`, name: `Rancher RKE2 Common (${channel})`, baseUrl: `${site}/rke2/${channel}/common/microos/noarch`, gpgKey: `${site}/public.key` },
    { id: `rancher-rke2-${minor}-${channel}`, name: `Rancher RKE2 ${minor} (${channel})`, baseUrl: `${site}/rke2/${channel}/${minor}/microos/x86_64`, gpgKey: `${site}/public.key` },
  ];
}
