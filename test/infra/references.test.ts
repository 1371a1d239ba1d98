// Secrets and the CA are read only when a command needs them. When one cannot be used, the
// message points at its reference in cluster.yaml (FILE:LINE:COL), says what to do, names no
// internal field, and nothing is sent to Proxmox.
import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { LineCounter, parseDocument, type Node } from "yaml";
import { type Lab, startLab, starbase } from "./harness.ts";

let lab: Lab | undefined;
afterEach(async () => {
  await lab?.stop();
  lab = undefined;
});

/** FILE:LINE:COL of the value at path in the lab's spec. */
async function positionOf(lab: Lab, path: string[]): Promise<string> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(await Bun.file(lab.specFile).text(), { lineCounter });
  const node = doc.getIn(path, true) as Node;
  const { line, col } = lineCounter.linePos(node.range?.[0] ?? 0);
  return `${lab.specFile}:${line}:${col}`;
}

describe("run-time references", () => {
  test("an unset token variable: its reference's place and the export that fixes it; no request", async () => {
    lab = await startLab();
    lab.editSpec((doc) => doc.setIn(["proxmox", "tokenSecret"], doc.createNode({ env: "SB_TEST_UNSET_TOKEN" }, { flow: true })));
    const run = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(run.rc).toBe(1);
    const at = await positionOf(lab, ["proxmox", "tokenSecret"]);
    expect(run.stderr).toContain(
      `${at}: error: proxmox.tokenSecret: environment variable SB_TEST_UNSET_TOKEN is not set\n  hint: export SB_TEST_UNSET_TOKEN=…`,
    );
    expect(lab.emu.requestLog).toEqual([]);
  });

  test("a token secret Proxmox could not read (a space in it): the reference's place, not the client's field", async () => {
    lab = await startLab({ tokenSecret: "5e1f6a2c-0000-4000-8000-000000000000 " });
    const run = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(run.rc).toBe(1);
    const at = await positionOf(lab, ["proxmox", "tokenSecret"]);
    expect(run.stderr).toContain(`${at}: error: proxmox.tokenSecret: the secret holds a space, line break`);
    expect(run.stderr).not.toContain("tokenSecret is empty");
    expect(lab.emu.requestLog).toEqual([]);
  });

  test("a CA file that does not exist: its reference's place and the path it looked at", async () => {
    lab = await startLab();
    lab.editSpec((doc) => doc.setIn(["proxmox", "tls"], doc.createNode({ ca: "missing-ca.pem" }, { flow: true })));
    const run = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(run.rc).toBe(1);
    const at = await positionOf(lab, ["proxmox", "tls", "ca"]);
    expect(run.stderr).toContain(`${at}: error: proxmox.tls.ca: CA file ${join(lab.dir, "missing-ca.pem")} does not exist`);
    expect(lab.emu.requestLog).toEqual([]);
  });

  test("a CA file without a certificate: named as the spec's field, never an internal one", async () => {
    lab = await startLab();
    writeFileSync(join(lab.dir, "ca.pem"), "not a certificate\n");
    lab.editSpec((doc) => doc.setIn(["proxmox", "tls"], doc.createNode({ ca: "ca.pem" }, { flow: true })));
    const run = await starbase(lab, ["plan", lab.specFile, "--phase", "infra"]);
    expect(run.rc).toBe(1);
    const at = await positionOf(lab, ["proxmox", "tls", "ca"]);
    expect(run.stderr).toContain(`${at}: error: proxmox.tls.ca: CA file ${join(lab.dir, "ca.pem")} holds no PEM certificate`);
    expect(run.stderr).not.toContain("caPem");
    expect(lab.emu.requestLog).toEqual([]);
  });
});
