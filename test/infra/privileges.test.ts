// The privilege table (src/steps/privileges.ts, docs/privileges.md) against the emulator, whose
// checks follow the Proxmox sources: exactly the table, on exactly its paths, carries a whole
// apply, change and destroy; the emulator asks for every entry of it; each missing entry is
// named by the preflight with its path and pveum line; plan needs only the reading ones.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Inventory } from "../../src/inventory/types.ts";
import { loadCluster } from "../../src/plan/load.ts";
import { ProxmoxClient } from "../../src/proxmox/index.ts";
import { missingPrivileges, type NeededPrivilege, neededPrivileges, privilegeProblems, privilegesMarkdown } from "../../src/steps/infra/privileges.ts";
import { TABLE_END, TABLE_START, withPrivilegeTable } from "../../scripts/write-privileges.ts";
import type { AclEntry, TokenSpec } from "../emulator/options.ts";
import { DEFAULT_TOKEN } from "../emulator/options.ts";
import { type Emulator, startEmulator } from "../emulator/server.ts";
import { applyInfra, exampleFile, IMAGE, IMAGE_URL, type Lab, mutating, NODES, repo, starbase, startLab } from "./harness.ts";

/** The example's inventory (the lab patches only endpoint, token and TLS, which the table does not depend on). */
async function exampleInventory(): Promise<Inventory> {
  const { inventory } = await loadCluster(exampleFile, process.env);
  if (inventory === undefined) throw new Error("examples/cluster.yaml does not validate");
  return inventory;
}

/** Every entry of the table for the example, converge and destroy. */
function tableOf(inv: Inventory): NeededPrivilege[] {
  const all = [...neededPrivileges(inv, "converge"), ...neededPrivileges(inv, "destroy")];
  return all.filter((need, i) => all.findIndex((other) => other.path === need.path && other.privilege === need.privilege) === i);
}

/** The table as ACL entries: each privilege on its path only — nothing reaches further, except the lock pool's to its sub-pool run. */
function aclOf(needs: readonly NeededPrivilege[]): AclEntry[] {
  return needs.map((n) => ({ path: n.path, privileges: [n.privilege], propagate: n.rule.scope === "lockPool" }));
}

test("docs/privileges.md carries exactly the table generated from src/steps/privileges.ts", () => {
  const doc = readFileSync(join(repo, "docs", "privileges.md"), "utf8");
  expect(doc).toContain(TABLE_START);
  expect(doc).toContain(TABLE_END);
  // When this fails: bun scripts/write-privileges.ts
  expect(withPrivilegeTable(doc, privilegesMarkdown())).toBe(doc);
});

describe("exactly the table, on exactly its paths", () => {
  let lab: Lab;
  let table: NeededPrivilege[];
  beforeAll(async () => {
    table = tableOf(await exampleInventory());
    lab = await startLab({ emulator: { tokens: [{ ...DEFAULT_TOKEN, acl: aclOf(table) }] } });
  });
  afterAll(() => lab.stop());

  test("carry apply, a change of every kind, plan and destroy", async () => {
    const fresh = await applyInfra(lab);
    expect(fresh.stderr).not.toContain("lacks");
    expect(fresh.rc).toBe(0);
    expect(lab.emu.state.vms.size).toBe(11);

    // New seeds for every VM (CD-ROM change, old ISOs deleted), more cores, a bigger disk.
    lab.editSpec((doc) => {
      doc.setIn(["nodes", "servers", "vm", "cores"], 6);
      doc.setIn(["nodes", "agents", "vm", "disk"], 110);
      doc.setIn(["ssh", "authorizedKeys"], doc.createNode(["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPr7nh4XVBgm3aT3aDDAs7cRDbkvTM5HaNLbCj/5mjo8 second@laptop"]));
    });
    // The replaced seed ISOs are removed: off a terminal that needs --yes.
    const changed = await applyInfra(lab, "--yes");
    expect(changed.rc).toBe(0);
    expect(changed.stdout).toContain("scsi0 size: 100G → 110G");
    expect((await starbase(lab, ["plan", lab.specFile, "--phase", "infra"])).rc).toBe(2); // the servers' cores wait for a restart

    const destroyed = await starbase(lab, ["destroy", lab.specFile, "--yes"]);
    expect(destroyed.rc).toBe(0);
    expect(lab.emu.state.vms.size).toBe(0);
    expect(lab.emu.requestLog.filter((e) => e.status === 403)).toEqual([]);
  });

  test("the emulator asked for every entry, and never had to refuse one", () => {
    const checks = lab.emu.privilegeChecks;
    expect(checks.filter((c) => !c.filter && !c.granted)).toEqual([]);
    const asked = (need: NeededPrivilege) => checks.some((c) => c.alternatives.some((alt) => alt.some((n) => n.path === need.path && n.privilege === need.privilege)));
    expect(table.filter((need) => !asked(need)).map((n) => `${n.privilege} on ${n.path}`)).toEqual([]);
  });
});

describe("one entry missing", () => {
  let emu: Emulator;
  let inv: Inventory;
  let table: NeededPrivilege[];
  const tokens: TokenSpec[] = [];
  const clients: ProxmoxClient[] = [];

  beforeAll(async () => {
    inv = await exampleInventory();
    table = tableOf(inv);
    // One token per entry, with every other entry; token i lacks table[i].
    table.forEach((_, i) => tokens.push({
      id: `starbase@pve!without${i}`,
      secret: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`,
      acl: aclOf(table.filter((__, j) => j !== i)),
    }));
    emu = await startEmulator({ nodes: NODES, taskMs: 0, lockScale: 0.01, notice: () => {}, published: { [IMAGE_URL]: IMAGE }, tokens });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await emu.stop();
  });

  test("is found by the preflight, with its path and the pveum line that grants it on the right path", async () => {
    for (const [i, need] of table.entries()) {
      const client = new ProxmoxClient({ endpoint: emu.url, tokenId: tokens[i]!.id, tokenSecret: tokens[i]!.secret, tls: { fingerprint: emu.fingerprint } });
      clients.push(client);
      const purpose = need.rule.purposes.includes("converge") ? "converge" : "destroy";
      const missing = await missingPrivileges(client, neededPrivileges(inv, purpose));
      expect(missing.map((m) => `${m.privilege} on ${m.path}`)).toEqual([`${need.privilege} on ${need.path}`]);
      const [problem] = privilegeProblems(missing, tokens[i]!.id);
      expect(problem).toContain(`lacks ${need.privilege} on ${need.path}, needed to ${need.rule.use}`);
      expect(problem).toContain(`pveum acl modify ${need.path} --tokens '${tokens[i]!.id}' --roles Starbase`);
    }
    expect(mutating(emu.requestLog)).toEqual([]);
  });
});

describe("privileges of plan", () => {
  let lab: Lab;
  beforeAll(async () => {
    const reading = tableOf(await exampleInventory()).filter((n) => n.rule.read === true);
    lab = await startLab({ emulator: { tokens: [{ ...DEFAULT_TOKEN, acl: aclOf(reading) }] } });
  });
  afterAll(() => lab.stop());

  test("plan needs only the reading entries and notes what apply will lack; apply stops before acting", async () => {
    const plan = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(plan.rc).toBe(2);
    expect(plan.stdout).toContain("+ VM server01 (210) on node01");
    expect(plan.stderr).toContain("apply will stop here: the API token starbase@pve!emulator lacks VM.Allocate");
    const apply = await applyInfra(lab);
    expect(apply.rc).toBe(1);
    expect(apply.stderr).toContain("lacks Sys.AccessNetwork on /nodes/node01, /nodes/node02, /nodes/node03, needed to let Proxmox download the image");
    expect(mutating(lab.emu.requestLog)).toEqual([]);
  });
});

describe("a refusal the preflight cannot foresee", () => {
  let lab: Lab;
  beforeAll(async () => {
    // NoAccess on one VM: GET /access/permissions leaves such a path out, so only the create meets it.
    const privileges = [...new Set(tableOf(await exampleInventory()).map((n) => n.privilege))];
    lab = await startLab({ emulator: { tokens: [{ ...DEFAULT_TOKEN, privileges, acl: [{ path: "/vms/210", privileges: [] }] }] } });
  });
  afterAll(() => lab.stop());

  test("stops the run and is said once, with the privilege, the path and the pveum line: never retried", async () => {
    const run = await applyInfra(lab, "--output", "json");
    expect(run.rc).toBe(1);
    const events = run.stdout.trim().split("\n").map((line) => JSON.parse(line) as { type?: string; id?: string; outcome?: string; reason?: string });
    const hint = `grant it: pveum acl modify /vms/210 --tokens '${DEFAULT_TOKEN.id}' --roles Starbase`;
    const failures = events.filter((e) => e.type === "step-end" && e.outcome === "failed");
    expect(failures.map((e) => e.id)).toEqual(["vm:server01"]);
    expect(failures[0]!.reason).toContain("the token needs VM.Allocate on /vms/210");
    expect(failures[0]!.reason).toContain(hint);
    expect(events.filter((e) => e.type === "step-retry")).toEqual([]);
    expect(lab.emu.requestLog.filter((e) => e.status === 403)).toHaveLength(1);
    // The rest of the run was stopped: VMs not started yet were not created.
    expect(events.filter((e) => e.type === "step-skip" && e.outcome === "cancelled").length).toBeGreaterThan(0);
  });
});

describe("a refusal that names its path at run time", () => {
  let lab: Lab;
  beforeAll(async () => {
    // SDN.Use only in another zone: the preflight takes vmbr0 for a VNet of zone1, but Proxmox checks the local zone.
    const privileges = [...new Set(tableOf(await exampleInventory()).map((n) => n.privilege))].filter((p) => p !== "SDN.Use");
    lab = await startLab({ emulator: { tokens: [{ ...DEFAULT_TOKEN, privileges, acl: [{ path: "/sdn/zones/zone1/vmbr0/20", privileges: ["SDN.Use"] }] }] } });
  });
  afterAll(() => lab.stop());

  test("gets the pveum line for exactly that path", async () => {
    const run = await applyInfra(lab);
    expect(run.rc).toBe(1);
    expect(run.stderr).toContain("the token needs SDN.Use on /sdn/zones/localnetwork/vmbr0/20");
    expect(run.stderr).toContain(`grant it: pveum acl modify /sdn/zones/localnetwork/vmbr0/20 --tokens '${DEFAULT_TOKEN.id}' --roles Starbase`);
    expect(lab.emu.state.vms.size).toBe(0);
  });
});

