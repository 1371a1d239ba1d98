// One lab per test file (or describe block): up in beforeAll, down in afterAll, scratch directory
// removed. The lab is reached through the returned getter once beforeAll ran.
import { afterAll, beforeAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { labUp, type Lab, type LabTopology } from "./lab.ts";

/** Registers the hooks; `name` prefixes the scratch directory (/tmp/<name>-XXXXXX). */
export function useLab(name: string, topology: LabTopology): { lab: () => Lab; scratch: () => string } {
  let scratch = "";
  let lab: Lab | undefined;
  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), `${name}-`));
    lab = await labUp(join(scratch, "lab"), topology);
  }, 240_000);
  afterAll(async () => {
    if (scratch === "") return;
    await lab?.down();
    rmSync(scratch, { recursive: true, force: true });
  }, 60_000);
  return {
    lab: () => {
      if (lab === undefined) throw new Error(`the lab of ${name} is not up`);
      return lab;
    },
    scratch: () => scratch,
  };
}
