// The RKE2 release a run installs: RPM versions both ways, the channel server's answer, Rancher's
// repositories per channel and minor, and one channel question per run (a stub SSH host counts).
import { describe, expect, test } from "bun:test";
import { buildInventory } from "../../../src/inventory/build.ts";
import { microos } from "../../../src/nodeos/microos.ts";
import type { Spec } from "../../../src/spec/types.ts";
import type { SshHost } from "../../../src/ssh/pool.ts";
import { createClusterRun } from "../../../src/steps/cluster/context.ts";
import { channelQuery, channelUrl, minorOf, parseChannelAnswer, rancherRepositories, releaseOfRpm, rpmVersion, wantedRelease } from "../../../src/steps/cluster/rke2-version.ts";
import { realisticSpec, SECRETS } from "../../render/fixtures.ts";

function specWith(rke2: Partial<Spec["rke2"]>): Spec {
  const spec = realisticSpec();
  const { version: _v, channel: _c, ...rest } = spec.rke2;
  spec.rke2 = { ...rest, ...rke2 };
  return spec;
}

describe("RKE2 release and RPM versions", () => {
  test("the RPM version is the release with ~ for + and no v (install.sh); an installed VERSION-RELEASE reads back", () => {
    expect(rpmVersion("v1.33.4+rke2r1")).toBe("1.33.4~rke2r1");
    expect(releaseOfRpm("1.33.4~rke2r1-0.sle")).toBe("v1.33.4+rke2r1");
    expect(releaseOfRpm("1.33.5~rke2r2-0")).toBe("v1.33.5+rke2r2");
    expect(minorOf("v1.34.1+rke2r1")).toBe("1.34");
    expect(() => minorOf("1.34")).toThrow("not an RKE2 release");
  });

  test("the channel server's redirect names the release; anything else is an error naming the server", () => {
    const url = "https://update.rke2.io/v1-release/channels/stable";
    expect(parseChannelAnswer(url, "302 https://github.com/rancher/rke2/releases/tag/v1.33.5%2Brke2r1\n")).toBe("v1.33.5+rke2r1");
    expect(parseChannelAnswer(url, "307 https://github.com/rancher/rke2/releases/tag/v1.33.5+rke2r1/")).toBe("v1.33.5+rke2r1");
    expect(() => parseChannelAnswer(url, "200 \n")).toThrow(`the channel server ${url} answered 200 without a redirect to a release`);
    expect(() => parseChannelAnswer(url, "")).toThrow("answered nothing");
    expect(() => parseChannelAnswer(url, "302 https://github.com/rancher/rke2/releases")).toThrow("names no RKE2 release");
    expect(channelQuery("http://198.18.0.1:8080/c/stable")).toBe("curl -sS --proto '=https,http' --max-time 20 -o /dev/null -w '%{http_code} %{redirect_url}\\n' http://198.18.0.1:8080/c/stable");
  });

  test("channel URL: the spec's server or install.sh's default; stable when no channel is set", () => {
    expect(channelUrl(buildInventory(specWith({ channel: "v1.33" })))).toBe("https://update.rke2.io/v1-release/channels/v1.33");
    expect(channelUrl(buildInventory(specWith({ channel: "latest", channelUrl: "http://198.18.0.9/ch" })))).toBe("http://198.18.0.9/ch/latest");
  });

  test("Rancher's repositories: common + the release's minor, MicroOS infix; testing from rpm-testing, a pin from stable", () => {
    const pinned = rancherRepositories(buildInventory(specWith({ version: "v1.33.4+rke2r1" })), "v1.33.4+rke2r1");
    expect(pinned.map((r) => r.baseUrl)).toEqual(["https://rpm.rancher.io/rke2/stable/common/microos/noarch", "https://rpm.rancher.io/rke2/stable/1.33/microos/x86_64"]);
    expect(pinned.map((r) => r.gpgKey)).toEqual(["https://rpm.rancher.io/public.key", "https://rpm.rancher.io/public.key"]);
    const testing = rancherRepositories(buildInventory(specWith({ channel: "testing" })), "v1.35.0+rke2r1");
    expect(testing.map((r) => r.baseUrl)).toEqual(["https://rpm-testing.rancher.io/rke2/testing/common/microos/noarch", "https://rpm-testing.rancher.io/rke2/testing/1.35/microos/x86_64"]);
    expect(testing.map((r) => r.id)).toEqual(["rancher-rke2-common-testing", "rancher-rke2-1.35-testing"]);
  });

  test("a pinned release asks nobody; a channel is asked once per run on the first server, a failure is not kept", async () => {
    const asked: string[] = [];
    let answer = { code: 7, stdout: "", stderr: "curl: (7) Failed to connect" };
    const ssh = (host: { name: string }) => ({ name: host.name, exec: async (command: string) => (asked.push(`${host.name}: ${command}`), answer) }) as unknown as SshHost;
    const pinned = createClusterRun({ inv: buildInventory(specWith({ version: "v1.33.4+rke2r1" })), os: microos, secrets: SECRETS, ssh, connectTcp: () => Promise.reject(new Error("no TCP here")) });
    expect(await wantedRelease(pinned)).toBe("v1.33.4+rke2r1");
    expect(asked).toEqual([]);
    const inv = buildInventory(specWith({ channel: "stable" }));
    const run = createClusterRun({ inv, os: microos, secrets: SECRETS, ssh, connectTcp: () => Promise.reject(new Error("no TCP here")) });
    await expect(wantedRelease(run)).rejects.toThrow(`${inv.firstServer.name}: asking the channel server https://update.rke2.io/v1-release/channels/stable failed (exit 7): curl: (7) Failed to connect`);
    answer = { code: 0, stdout: "302 https://github.com/rancher/rke2/releases/tag/v1.33.5%2Brke2r1\n", stderr: "" };
    expect(await Promise.all([wantedRelease(run), wantedRelease(run)])).toEqual(["v1.33.5+rke2r1", "v1.33.5+rke2r1"]);
    expect(await wantedRelease(run)).toBe("v1.33.5+rke2r1");
    expect(asked.length).toBe(2);
    expect(asked.every((line) => line.startsWith(`${inv.firstServer.name}: curl `))).toBe(true);
  });
});
