import { describe, expect, test } from "bun:test";
import { parse } from "yaml";
import { buildInventory } from "../../src/inventory/build.ts";
import type { Inventory } from "../../src/inventory/types.ts";
import { renderHost } from "../../src/render/index.ts";
import { INVENTORIES, realisticSpec, SECRETS } from "./fixtures.ts";

const MANIFEST_PATH = "/var/lib/rancher/rke2/server/manifests/starbase-kured.yaml";

interface HelmChart {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
  spec: { repo: string; chart: string; version: string; targetNamespace: string; valuesContent: string };
}

function manifestHolders(inv: Inventory): string[] {
  return inv.hosts.filter((h) => renderHost(inv, h, SECRETS).some((f) => f.path === MANIFEST_PATH)).map((h) => h.name);
}

/** Helm and RKE2 read YAML 1.1: parse the same way, so an unquoted 18:00 would show up as 1080. */
function manifest(inv: Inventory): HelmChart {
  const file = renderHost(inv, inv.servers[0]!, SECRETS).find((f) => f.path === MANIFEST_PATH);
  if (file === undefined) throw new Error("the first server has no kured manifest");
  expect(file.mode).toBe(0o600);
  expect(file.scope).toBe("node");
  return parse(file.content, { version: "1.1" }) as HelmChart;
}

describe("kured HelmChart", () => {
  test("only the first server carries it, and only when kured is enabled", () => {
    expect(manifestHolders(INVENTORIES[0]!.inv)).toEqual(["server01"]);
    expect(manifestHolders(INVENTORIES[2]!.inv)).toEqual(["server01"]);
    expect(manifestHolders(INVENTORIES[1]!.inv)).toEqual([]); // kured disabled
  });

  test("chart from the kured repository, pinned version, installed into kube-system", () => {
    const chart = manifest(INVENTORIES[0]!.inv);
    expect(chart.apiVersion).toBe("helm.cattle.io/v1");
    expect(chart.kind).toBe("HelmChart");
    expect(chart.metadata.namespace).toBe("kube-system");
    expect(chart.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(chart.spec).toMatchObject({
      repo: "https://kubereboot.github.io/charts",
      chart: "kured",
      version: "5.6.0",
      targetNamespace: "kube-system",
    });
  });

  test("values: transactional-update's sentinel, the spec's window and time zone, tolerations for servers", () => {
    const values = parse(manifest(INVENTORIES[0]!.inv).spec.valuesContent, { version: "1.1" });
    expect(values.configuration).toEqual({
      rebootSentinel: "/var/run/reboot-needed",
      period: "1h",
      startTime: "18:00",
      endTime: "23:00",
      timeZone: "Europe/Berlin",
    });
    expect(values.tolerations).toContainEqual({ key: "CriticalAddonsOnly", operator: "Exists" });
    expect(values.tolerations).toContainEqual({
      key: "node-role.kubernetes.io/control-plane",
      operator: "Exists",
      effect: "NoSchedule",
    });
  });

  test("window and chart version come from the spec", () => {
    const spec = realisticSpec();
    spec.kured = { enabled: true, startTime: "1:30", endTime: "5:00", timeZone: "UTC", chartVersion: "5.7.1" };
    const chart = manifest(buildInventory(spec));
    expect(chart.spec.version).toBe("5.7.1");
    const values = parse(chart.spec.valuesContent, { version: "1.1" });
    expect(values.configuration.startTime).toBe("1:30");
    expect(values.configuration.endTime).toBe("5:00");
    expect(values.configuration.timeZone).toBe("UTC");
  });
});
