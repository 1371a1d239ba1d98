// Guest agent calls: ping and network-get-interfaces, answered from the VM's config.
import { handlerError } from "../errors.ts";
import { namedPropertyFormats } from "../formats.ts";
import type { VmRecord } from "../state.ts";
import { parsePropertyString } from "../validate.ts";
import { agentEnabled } from "../vm-config.ts";
import { type RouteContext, nodeName, vmid, vmOnNode } from "./context.ts";

function runningAgent(context: RouteContext): VmRecord {
  const vm = vmOnNode(context.core, nodeName(context), vmid(context));
  if (!agentEnabled(vm.config)) throw handlerError("No QEMU guest agent configured");
  if (!vm.running) throw handlerError(`VM ${vm.vmid} is not running`);
  if (Date.now() - (vm.startedAt ?? 0) < context.core.agentDelayMs) throw handlerError("QEMU guest agent is not running");
  return vm;
}

export function agentPing(context: RouteContext): { result: Record<string, never> } {
  runningAgent(context);
  return { result: {} };
}

function macOf(net: string): string | undefined {
  const first = net.split(",")[0] ?? "";
  return /=([0-9A-Fa-f:]{17})$/.exec(first)?.[1]?.toLowerCase();
}

/** Interfaces as the guest would report them: lo plus one ethN per netN with its static ipconfigN. */
export function networkInterfaces(context: RouteContext): { result: unknown[] } {
  const vm = runningAgent(context);
  const result: unknown[] = [
    {
      name: "lo",
      "hardware-address": "00:00:00:00:00:00",
      "ip-addresses": [
        { "ip-address": "127.0.0.1", "ip-address-type": "ipv4", prefix: 8 },
        { "ip-address": "::1", "ip-address-type": "ipv6", prefix: 128 },
      ],
    },
  ];
  for (const key of Object.keys(vm.config).filter((option) => /^net\d+$/.test(option)).sort()) {
    const index = key.slice(3);
    const addresses: unknown[] = [];
    const ipconfig = vm.config[`ipconfig${index}`];
    if (ipconfig) {
      const parsed = parsePropertyString(namedPropertyFormats["pve-qm-ipconfig"] ?? {}, ipconfig, `ipconfig${index}`);
      for (const [field, type] of [["ip", "ipv4"], ["ip6", "ipv6"]] as const) {
        const cidr = /^(.+)\/(\d+)$/.exec(parsed[field] ?? "");
        if (cidr) addresses.push({ "ip-address": cidr[1], "ip-address-type": type, prefix: Number(cidr[2]) });
      }
    }
    result.push({ name: `eth${index}`, "hardware-address": macOf(vm.config[key] ?? ""), "ip-addresses": addresses });
  }
  return { result };
}
