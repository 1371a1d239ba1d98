import type { Inventory } from "../inventory/types.ts";
import { toYaml } from "./yaml.ts";

export const KURED_MANIFEST_PATH = "/var/lib/rancher/rke2/server/manifests/starbase-kured.yaml";
const KURED_CHART_REPO = "https://kubereboot.github.io/charts";
/** transactional-update writes this after every update that needs a reboot, whatever REBOOT_METHOD says. */
const REBOOT_SENTINEL = "/var/run/reboot-needed";
const CHECK_PERIOD = "1h";

/**
 * The kured HelmChart that RKE2's deploy controller installs from the first server's manifests
 * directory. Setting tolerations replaces the chart's defaults, so the control-plane one is
 * repeated next to CriticalAddonsOnly (tainted servers must be rebooted too).
 */
export function renderKuredManifest(inv: Inventory): string {
  const { kured } = inv.spec;
  const values = {
    configuration: {
      rebootSentinel: REBOOT_SENTINEL,
      period: CHECK_PERIOD,
      startTime: kured.startTime,
      endTime: kured.endTime,
      timeZone: kured.timeZone,
    },
    tolerations: [
      { key: "CriticalAddonsOnly", operator: "Exists" },
      { key: "node-role.kubernetes.io/control-plane", operator: "Exists", effect: "NoSchedule" },
    ],
  };
  return toYaml({
    apiVersion: "helm.cattle.io/v1",
    kind: "HelmChart",
    metadata: { name: "starbase-kured", namespace: "kube-system" },
    spec: {
      repo: KURED_CHART_REPO,
      chart: "kured",
      version: kured.chartVersion,
      targetNamespace: "kube-system",
      valuesContent: toYaml(values),
    },
  });
}
