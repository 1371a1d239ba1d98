import { describe, expect, test } from "bun:test";
import { buildInventory } from "../../src/inventory/build.ts";
import { createParams, desiredVm } from "../../src/steps/infra/desired.ts";
import { isManagedTag } from "../../src/steps/infra/tags.ts";
import { diffConfig, diffWithPending, pendingConfigs, type PendingItem, type VmConfig } from "../../src/steps/infra/vm-diff.ts";
import { specFixture, vm } from "../inventory/fixture.ts";

const SEED = "local:iso/starbase_homelab_server01_0123456789ab.iso";

function server01(overrides = {}) {
  const inv = buildInventory(specFixture(overrides));
  const host = inv.hosts.find((h) => h.name === "server01")!;
  return { inv, host, desired: desiredVm(inv, host, SEED) };
}

/** What Proxmox returns for a VM created from createParams: MAC added, disk resolved, tags normalised. */
function configOf(params: Record<string, unknown>, diskSize: string): VmConfig {
  const config: VmConfig = {};
  for (const [key, value] of Object.entries(params)) {
    if (key === "vmid") continue;
    config[key] = String(value);
  }
  config.net0 = String(params.net0).replace(/^virtio,/, "virtio=BC:24:11:12:34:56,");
  config.scsi0 = `local-lvm:vm-210-disk-0,discard=on,iothread=1,size=${diskSize}`;
  config.memory = String(params.memory);
  config.digest = "0123";
  return config;
}

describe("desiredVm", () => {
  test("spells the VM as Proxmox options with the fixed managed tags", () => {
    const { desired } = server01();
    expect(desired.options).toMatchObject({
      scsihw: "virtio-scsi-single",
      serial0: "socket",
      vga: "serial0",
      agent: "enabled=1",
      ostype: "l26",
      boot: "order=scsi0",
      ide2: `${SEED},media=cdrom`,
      net0: "virtio,bridge=vmbr0,mtu=1500,tag=20",
      cores: "2",
      memory: "4096",
      balloon: "4096",
      cpu: "x86-64-v2-AES",
    });
    expect(desired.tags).toEqual(["starbase", "starbase-homelab", "starbase-server"]);
    expect(desired.tags.every(isManagedTag)).toBe(true);
  });

  test("the tags do not depend on the settings: an administrator allows them once", () => {
    const spec = specFixture();
    spec.nodes.servers.vm = vm(210, { cores: 4, memory: 8192, disk: 31, cpu: "host" });
    const inv = buildInventory(spec);
    expect(desiredVm(inv, inv.hosts.find((h) => h.name === "server01")!, "local:iso/other.iso").tags).toEqual(server01().desired.tags);
  });

  test("createParams imports the disk from the image with size 0 and tags the VM", () => {
    const { desired } = server01();
    const params = createParams(desired, "local-lvm", "local:import/microos-abc.qcow2");
    expect(params.vmid).toBe(210);
    expect(params.name).toBe("server01");
    expect(params.scsi0).toBe("local-lvm:0,import-from=local:import/microos-abc.qcow2,discard=on,iothread=1");
    expect(params.tags).toBe(desired.tags.join(";"));
  });
});

describe("diffConfig", () => {
  test("a VM created from the desired options has no difference (MAC, digest, memory as string ignored)", () => {
    const { desired } = server01();
    const config = configOf(createParams(desired, "local-lvm", "local:import/x.qcow2") as Record<string, unknown>, "30G");
    const diff = diffConfig(desired, config, "VM server01 (210)", true);
    expect(diff.changes).toEqual([]);
    expect(diff.set).toEqual({});
    expect(diff.growDiskGiB).toBeUndefined();
  });

  test("field changes come with old → new and keep the NIC's MAC and the user's tags", () => {
    const { desired } = server01();
    const config = configOf(createParams(desired, "local-lvm", "local:import/x.qcow2") as Record<string, unknown>, "20G");
    config.cores = 1;
    config.net0 = "virtio=BC:24:11:12:34:56,bridge=vmbr9";
    config.net1 = "virtio=BC:24:11:65:43:21,bridge=vmbr1";
    config.tags = "backup;starbase;starbase-homelab;starbase-agent";
    const diff = diffConfig(desired, config, "VM server01 (210)", true);
    const byField = Object.fromEntries(diff.changes.map((c) => [c.field, c]));
    expect(byField.cores).toMatchObject({ op: "~", from: "1", to: "2" });
    expect(byField.cores!.reason).toContain("restarts");
    expect(byField.net0).toMatchObject({ from: "virtio=BC:24:11:12:34:56,bridge=vmbr9", to: "virtio,bridge=vmbr0,mtu=1500,tag=20", reason: "differs from the spec" });
    expect(byField.net1).toMatchObject({ to: "(removed)" });
    expect(byField["scsi0 size"]).toMatchObject({ op: "~", from: "20G", to: "30G" });
    expect(diff.set.net0).toBe("virtio=BC:24:11:12:34:56,bridge=vmbr0,mtu=1500,tag=20");
    expect(diff.set.tags!.split(";").sort()).toEqual(["backup", ...desired.tags].sort());
    expect(diff.remove).toEqual(["net1"]);
    expect(diff.growDiskGiB).toBe(30);
  });

  test("the config-hash tag of earlier versions is removed on its own line; the user's tags stay", () => {
    const { desired } = server01();
    const config = configOf(createParams(desired, "local-lvm", "local:import/x.qcow2") as Record<string, unknown>, "30G");
    config.tags = "backup;starbase;starbase-cfg-0a1b2c3d;starbase-homelab;starbase-server";
    const diff = diffConfig(desired, config, "VM server01 (210)", true);
    expect(diff.changes).toEqual([{ op: "~", subject: "VM server01 (210)", field: "tags", from: "starbase;starbase-cfg-0a1b2c3d;starbase-homelab;starbase-server",
      to: "starbase;starbase-homelab;starbase-server", reason: "starbase no longer tags the config hash" }]);
    expect(diff.set).toEqual({ tags: "starbase;starbase-homelab;starbase-server;backup" });
  });

  test("a disk larger than the spec is refused, never shrunk", () => {
    const { desired } = server01();
    const config = configOf(createParams(desired, "local-lvm", "local:import/x.qcow2") as Record<string, unknown>, "64G");
    const diff = diffConfig(desired, config, "VM server01 (210)", false);
    const shrink = diff.changes.find((c) => c.op === "!");
    expect(shrink?.reason).toContain("cannot shrink");
    expect(diff.growDiskGiB).toBeUndefined();
  });
});

describe("diffWithPending", () => {
  /** GET …/pending for a config, with `pending` values held back by Proxmox. */
  const itemsOf = (config: VmConfig, pending: VmConfig = {}): PendingItem[] => [
    ...Object.entries(config).map(([key, value]) => ({ key, value: value!, ...(pending[key] !== undefined && { pending: pending[key]! }) })),
    ...Object.entries(pending).filter(([key]) => config[key] === undefined).map(([key, value]) => ({ key, pending: value! })),
  ];

  test("a change Proxmox holds until the restart is shown as pending and not sent again", () => {
    const { desired } = server01();
    const config = configOf(createParams(desired, "local-lvm", "local:import/x.qcow2") as Record<string, unknown>, "30G");
    const items = itemsOf({ ...config, cores: 1, memory: "2048" }, { cores: 2, memory: "4096" });
    const diff = diffWithPending(desired, pendingConfigs(items), "VM server01 (210)", true);
    expect(diff.set).toEqual({});
    expect(diff.changes.map((c) => [c.field, c.from, c.to, c.waitsForRestart])).toEqual([["cores", "1", "2", true], ["memory", "2048", "4096", true]]);
    expect(diff.changes[0]!.reason).toStartWith("pending until restart");
  });

  test("a change is sent once; while Proxmox holds it nothing is sent; once active nothing is left", () => {
    const { desired } = server01();
    const config = configOf(createParams(desired, "local-lvm", "local:import/x.qcow2") as Record<string, unknown>, "30G");
    const sent = diffWithPending(desired, pendingConfigs(itemsOf({ ...config, cores: 1 })), "VM server01 (210)", true);
    expect(sent.set).toEqual({ cores: "2" });
    const held = diffWithPending(desired, pendingConfigs(itemsOf({ ...config, cores: 1 }, { cores: 2 })), "VM server01 (210)", true);
    expect(held.set).toEqual({});
    const active = diffWithPending(desired, pendingConfigs(itemsOf(config)), "VM server01 (210)", true);
    expect(active.changes).toEqual([]);
  });
});
