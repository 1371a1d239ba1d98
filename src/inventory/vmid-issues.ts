import type { SpecPath } from "../spec/types.ts";
import type { DerivedHost } from "./derived.ts";
import type { Finding } from "./findings.ts";
import { hostVmid, VMID_MAX, VMID_MIN } from "./vmids.ts";

function vmidPath(host: DerivedHost): SpecPath {
  return host.entry.vmid !== undefined && host.entryPath !== undefined
    ? [...host.entryPath, "vmid"]
    : [...host.groupPath, "vm", "vmidStart"];
}

function subject(host: DerivedHost, vmid: number): string {
  return host.entry.vmid !== undefined
    ? `${host.name} has vmid ${vmid}`
    : `${host.name} would get VMID ${vmid} (vmidStart + ${host.index})`;
}

/** Every final VMID is a valid Proxmox VMID and unique across all host types. */
export function vmidFindings(hosts: readonly DerivedHost[]): Finding[] {
  const findings: Finding[] = [];
  const owners = new Map<number, DerivedHost>();
  for (const host of hosts) {
    const vmid = hostVmid(host.entry, host.index, host.group.vm.vmidStart);
    const path = vmidPath(host);
    if (!Number.isInteger(vmid) || vmid < VMID_MIN || vmid > VMID_MAX) {
      findings.push({ severity: "error", path, kind: "range",
        text: `${subject(host, vmid)}, outside the Proxmox VMID range ${VMID_MIN}..${VMID_MAX}` });
    }
    const owner = owners.get(vmid);
    if (owner === undefined) owners.set(vmid, host);
    else findings.push({ severity: "error", path, kind: "duplicate", text: `${subject(host, vmid)}, already used by ${owner.name}`,
      hint: "leave room between the vmidStart of the types, or give the host its own vmid" });
  }
  return findings;
}
