import type { UpdatesSpec } from "../spec/types.ts";
import type { DerivedHost } from "./derived.ts";
import type { Finding } from "./findings.ts";
import { parseDuration, rebootWindows, windowOfHost, windowsOverlap } from "./reboot-windows.ts";

const OVERLAP_HINT =
  "both could reboot at the same time and drop the VIP; give each load balancer its own window: " +
  "a windowDuration no longer than the gap between their starts, or rebootSlots/minuteOffsets that put them apart";

/**
 * The reboot windows can be derived, and no two load balancers share a minute of them
 * (a warning: rebootmgr reboots only when an update needs it, but then possibly both at once).
 */
export function rebootWindowFindings(updates: UpdatesSpec, hosts: readonly DerivedHost[]): Finding[] {
  // A malformed or zero duration is reported by spec validation; there is nothing to compare.
  if (parseDuration(updates.windowDuration) === undefined) return [];
  const windows = rebootWindows(updates.rebootSlots, updates.minuteOffsets, updates.windowDuration);
  if (windows.length === 0) {
    return [{ severity: "error", path: ["updates"], kind: "empty", text: "rebootSlots × minuteOffsets gives no reboot window" }];
  }
  const loadBalancers = hosts
    .filter((host) => host.role === "loadbalancer")
    .flatMap((host) => {
      const window = windowOfHost(windows, host.index);
      return window === undefined ? [] : [{ name: host.name, window }];
    });
  return loadBalancers.flatMap((a, i) =>
    loadBalancers.slice(i + 1).filter((b) => windowsOverlap(a.window, b.window)).map((b): Finding => ({
      severity: "warning", path: ["updates"], kind: "lb-overlap", hint: OVERLAP_HINT,
      text: `load balancers ${a.name} (${a.window.start}–${a.window.end}) and ${b.name} (${b.window.start}–${b.window.end}) have overlapping reboot windows`,
    })),
  );
}
