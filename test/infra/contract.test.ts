// Every request starbase sends is a valid call of PVE 9.1 and of PVE 8.4. The emulator checks
// each on receipt against the release it emulates; here the logs are checked again with the
// schema module, against both releases, and a whole lifecycle runs against an emulated 8.4.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { RequestLogEntry } from "../emulator/request-log.ts";
import { versionProblem } from "../../src/steps/infra/preflight.ts";
import { applyInfra, LOG_DIR, schemaViolations, starbase, startLab } from "./harness.ts";

function rejected(entries: readonly RequestLogEntry[]): RequestLogEntry[] {
  return entries.filter((e) => e.status === 400 || e.status === 501);
}

describe("API contract", () => {
  test("a whole lifecycle against PVE 8.4: apply, no-op, change, destroy; nothing rejected", async () => {
    // 8.4's installer gives `local` no `import` content: the administrator enables it, as the README says.
    const storages = [
      { id: "local", type: "dir", path: "/var/lib/vz", content: ["iso", "vztmpl", "backup", "import"] },
      { id: "local-lvm", type: "lvmthin", content: ["images", "rootdir"] },
    ];
    const lab = await startLab({ emulator: { version: "8.4", storages } });
    try {
      expect((await applyInfra(lab)).rc).toBe(0);
      expect((await applyInfra(lab)).stdout).toContain("No changes");
      lab.editSpec((doc) => doc.setIn(["nodes", "agents", "vm", "memory"], 12288));
      expect((await applyInfra(lab)).rc).toBe(0);
      expect((await starbase(lab, ["destroy", lab.specFile, "--yes"])).rc).toBe(0);
      expect(rejected(lab.emu.requestLog)).toEqual([]);
      expect(schemaViolations(lab.emu.requestLog)).toEqual([]);
      // Every kind of call starbase makes was exercised.
      const calls = new Set(lab.emu.requestLog.map((e) => `${e.method} ${e.path.replace(/\/(node0\d|local(-lvm)?|\d+)(?=\/|$)/g, "/x").replace(/\/content\/.*/, "/content/x").replace(/\/tasks\/[^/]+/, "/tasks/x")}`));
      for (const call of ["POST /nodes/x/storage/x/download-url", "POST /nodes/x/storage/x/upload", "POST /nodes/x/qemu", "PUT /nodes/x/qemu/x/resize",
        "POST /nodes/x/qemu/x/status/start", "POST /nodes/x/qemu/x/config", "POST /nodes/x/qemu/x/status/stop", "DELETE /nodes/x/qemu/x",
        "DELETE /nodes/x/storage/x/content/x", "POST /pools", "DELETE /pools", "GET /cluster/resources"]) {
        expect(calls).toContain(call);
      }
    } finally {
      await lab.stop();
    }
  }, 120_000);

  test("PVE older than 8.4 is refused up front with the reason", async () => {
    expect(versionProblem("8.3.2")).toContain("Proxmox VE 8.3.2 is too old: starbase needs 8.4 or newer");
    expect(versionProblem("8.4.1")).toBeUndefined();
    expect(versionProblem("9.1.1")).toBeUndefined();
    expect(versionProblem("10.0")).toBeUndefined();
    const lab = await startLab({ emulator: { version: "8.3" } });
    try {
      const run = await applyInfra(lab);
      expect(run.rc).toBe(1);
      expect(run.stderr).toContain("Proxmox VE 8.3.1 is too old");
      expect(lab.emu.requestLog.filter((e) => e.method !== "GET")).toEqual([]);
    } finally {
      await lab.stop();
    }
  });

  test("the logs of every lab of this test run are valid calls of PVE 9.1 and 8.4", () => {
    expect(existsSync(LOG_DIR)).toBe(true);
    const files = readdirSync(LOG_DIR).filter((f) => f.endsWith(".jsonl"));
    expect(files.length).toBeGreaterThan(0);
    const entries = files.flatMap((file) =>
      readFileSync(join(LOG_DIR, file), "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as RequestLogEntry));
    expect(entries.length).toBeGreaterThan(100);
    expect(schemaViolations(entries)).toEqual([]);
    expect(rejected(entries)).toEqual([]);
  });
});
