// Wrong credentials, certificate, privileges, nodes or storages: each stops the run before it
// changes anything, with a message that says what to fix and without the secret.
import { afterEach, describe, expect, test } from "bun:test";
import { rolePrivileges } from "../../src/steps/infra/privileges.ts";
import { DEFAULT_TOKEN } from "../emulator/options.ts";
import { applyInfra, HOSTKEY_SECRET, type Lab, type LabOptions, mutating, type RunResult, starbase, startLab } from "./harness.ts";

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

async function failingApply(opts: LabOptions, edit?: Parameters<Lab["editSpec"]>[0]): Promise<RunResult & { lab: Lab }> {
  lab = await startLab(opts);
  if (edit) lab.editSpec(edit);
  const run = await applyInfra(lab);
  const output = run.stdout + run.stderr;
  for (const secret of [DEFAULT_TOKEN.secret, HOSTKEY_SECRET, "not-the-secret-0000"]) expect(output).not.toContain(secret);
  expect(run.rc).toBe(1);
  return { ...run, lab };
}

describe("preflight", () => {
  test("a refused token: 401, names the token and where its secret comes from", async () => {
    const run = await failingApply({ tokenSecret: "not-the-secret-0000" });
    expect(run.stderr).toContain(`refused the API token ${DEFAULT_TOKEN.id} (401 authentication failed)`);
    expect(run.stderr).toContain("environment variable PVE_TOKEN_SECRET");
    expect(mutating(run.lab.emu.requestLog)).toEqual([]);
  });

  test("a certificate that does not match the pinned fingerprint: nothing is sent at all", async () => {
    const run = await failingApply({}, (doc) => doc.setIn(["proxmox", "tls", "fingerprint"], "AB:".repeat(31) + "AB"));
    expect(run.stderr).toContain("TLS certificate fingerprint mismatch");
    expect(run.stderr).toContain(`presented SHA-256 ${run.lab.emu.fingerprint}`);
    expect(run.stderr).toContain("proxmox.tls.fingerprint");
    expect(run.lab.emu.requestLog).toEqual([]);
  });

  test("an unknown node is named with the nodes Proxmox has", async () => {
    const run = await failingApply({}, (doc) => doc.setIn(["proxmox", "nodes"], doc.createNode(["node01", "node02", "pve9"])));
    expect(run.stderr).toContain('proxmox.nodes: "pve9" is not a node of this Proxmox cluster (its nodes: node01, node02, node03); fix the name');
    expect(mutating(run.lab.emu.requestLog)).toEqual([]);
  });

  test("a missing storage is named, with the storages that node has", async () => {
    const run = await failingApply({}, (doc) => doc.setIn(["proxmox", "storage", "disk"], "fast-zfs"));
    expect(run.stderr).toContain('proxmox.storage.disk: storage "fast-zfs" is not available on node node01');
    expect(run.stderr).toContain("storages on node01: local, local-lvm");
    expect(mutating(run.lab.emu.requestLog)).toEqual([]);
  });

  test("a storage without the import content type: say to enable it (PVE 8.4+)", async () => {
    const storages = [
      { id: "local", type: "dir", path: "/var/lib/vz", content: ["iso", "vztmpl", "backup"] },
      { id: "local-lvm", type: "lvmthin", content: ["images", "rootdir"] },
    ];
    const run = await failingApply({ emulator: { storages } });
    for (const node of ["node01", "node02", "node03"]) {
      expect(run.stderr).toContain(`proxmox.storage.image: storage "local" on node ${node} does not allow content "import"`);
    }
    expect(run.stderr).toContain("pvesm set local --content backup,iso,vztmpl,import");
    expect(run.stderr).toContain("PVE 8.4");
    expect(mutating(run.lab.emu.requestLog)).toEqual([]);
  });

  test("a seed storage without iso content is named too", async () => {
    const storages = [
      { id: "local", type: "dir", path: "/var/lib/vz", content: ["iso", "import"] },
      { id: "snippets", type: "dir", path: "/srv/snippets", content: ["snippets"] },
      { id: "local-lvm", type: "lvmthin", content: ["images"] },
    ];
    const run = await failingApply({ emulator: { storages } }, (doc) => doc.setIn(["proxmox", "storage", "cloudInit"], "snippets"));
    expect(run.stderr).toContain('proxmox.storage.cloudInit: storage "snippets" on node node01 does not allow content "iso"');
    expect(mutating(run.lab.emu.requestLog)).toEqual([]);
  });

  test("an unreachable image.checksumUrl is read once per run: one error that names the host and the way out", async () => {
    let requests = 0;
    const offline = Bun.serve({
      port: 0,
      hostname: "127.0.0.1",
      fetch: () => {
        requests++;
        return new Response("no route", { status: 503, statusText: "Service Unavailable" });
      },
    });
    try {
      const host = `127.0.0.1:${offline.port}`;
      const run = await failingApply({}, (doc) => doc.setIn(["image", "checksumUrl"], `http://${host}/MicroOS.qcow2.sha256`));
      expect(requests).toBe(1);
      const hint = `pin image.checksum (the image's SHA-256) to run without reaching ${host}`;
      expect(run.stderr.split(hint)).toHaveLength(2);
      expect(run.stderr).toContain(`image.checksumUrl http://${host}/MicroOS.qcow2.sha256 could not be read: HTTP 503 Service Unavailable`);
      expect(mutating(run.lab.emu.requestLog)).toEqual([]);

      requests = 0;
      const plan = await starbase(run.lab, ["plan", run.lab.specFile, "--phase", "infra"]);
      expect(plan.rc).toBe(1);
      expect(requests).toBe(1);
      expect((plan.stdout + plan.stderr).split(hint)).toHaveLength(2);
    } finally {
      offline.stop(true);
    }
  });

  test("a missing privilege stops the run before anything is changed: privilege, paths and the pveum line, once", async () => {
    const privileges = rolePrivileges().filter((p) => p !== "VM.Allocate");
    const run = await failingApply({ emulator: { tokens: [{ ...DEFAULT_TOKEN, privileges }] } });
    const line = `the API token ${DEFAULT_TOKEN.id} lacks VM.Allocate on /vms/200, /vms/201, /vms/210 … /vms/222 (11 paths), needed to create the VM`;
    expect(run.stderr.split(line)).toHaveLength(2);
    expect(run.stderr).toContain(`for p in 200 201 210 211 212 213 214 215 220 221 222; do pveum acl modify /vms/$p --tokens '${DEFAULT_TOKEN.id}' --roles Starbase; done`);
    expect(run.stderr).toContain(`create it once: pveum role add Starbase --privs "${rolePrivileges().join(",")}"`);
    expect(run.stderr).toContain("grant the user the same with --users starbase@pve");
    expect(mutating(run.lab.emu.requestLog)).toEqual([]);
  });

  test("without Pool.Allocate the lock cannot be taken: named with the lock pool as the lasting place to grant it, nothing is changed", async () => {
    const privileges = rolePrivileges().filter((p) => p !== "Pool.Allocate");
    const run = await failingApply({ emulator: { tokens: [{ ...DEFAULT_TOKEN, privileges }] } });
    expect(run.stderr).toContain("lacks Pool.Allocate on /pool/starbase-lock-homelab, needed to take, refresh and release the run lock "
      + "(its sub-pool run; starbase never deletes this pool, so a propagating grant on it lasts)");
    expect(run.stderr).toContain(`pveum acl modify /pool/starbase-lock-homelab --tokens '${DEFAULT_TOKEN.id}' --roles Starbase`);
    expect(mutating(run.lab.emu.requestLog)).toEqual([]);
  });

  test("a grant on exactly the lock pool works for every run, not only the first (deleting a pool deletes the grants on it)", async () => {
    const pool = "/pool/starbase-lock-homelab";
    const privileges = [...rolePrivileges().filter((p) => !p.startsWith("Pool.")), `${pool}:Pool.Allocate`];
    lab = await startLab({ emulator: { tokens: [{ ...DEFAULT_TOKEN, privileges }] } });
    expect((await applyInfra(lab)).rc).toBe(0);
    lab.editSpec((doc) => doc.setIn(["nodes", "agents", "vm", "memory"], 12288));
    const second = await applyInfra(lab);
    expect(second.stderr).not.toContain("Permission check failed");
    expect(second.rc).toBe(0);
    lab.editSpec((doc) => doc.setIn(["nodes", "agents", "vm", "memory"], 8192));
    expect((await applyInfra(lab)).rc).toBe(0);
    expect(lab.emu.requestLog.filter((e) => e.status === 403)).toEqual([]);
  }, 120_000);
});

describe("preflight: storages as the installer left them", () => {
  test("8.4: `local` has no import content type; enabling it is the advice", async () => {
    const run = await failingApply({ emulator: { version: "8.4" } });
    expect(run.stderr).toContain('proxmox.storage.image: storage "local" on node node01 does not allow content "import"');
    expect(run.stderr).toContain("pvesm set local --content backup,iso,snippets,vztmpl,import");
    expect(mutating(run.lab.emu.requestLog)).toEqual([]);
  });

  test("a ZFS install has local-zfs, not local-lvm: the advice names the storage that holds VM disks", async () => {
    const run = await failingApply({ emulator: { installer: "zfs" } });
    expect(run.stderr).toContain('proxmox.storage.disk: storage "local-lvm" is not available on node node01');
    expect(run.stderr).toContain('storages on node01: local, local-zfs; of those, local-zfs allows content "images"');
  });

  test("never advises a content type the storage type cannot hold: an lvmthin storage for the seed ISOs", async () => {
    const run = await failingApply({}, (doc) => doc.setIn(["proxmox", "storage", "cloudInit"], "local-lvm"));
    expect(run.stderr).toContain('proxmox.storage.cloudInit: storage "local-lvm" (lvmthin) cannot hold ISO files; use "local" or another storage of type');
    expect(run.stderr).not.toContain("pvesm set local-lvm");
    expect(mutating(run.lab.emu.requestLog)).toEqual([]);
  });

  test("a BTRFS install disables `local`: the image and seeds go to local-btrfs", async () => {
    lab = await startLab({ emulator: { installer: "btrfs" } });
    lab.editSpec((doc) => doc.setIn(["proxmox", "storage"], doc.createNode({ image: "local-btrfs", disk: "local-btrfs", cloudInit: "local-btrfs" })));
    const run = await applyInfra(lab);
    expect(run.rc).toBe(0);
    expect(lab.emu.state.vms.size).toBe(11);
  });
});
