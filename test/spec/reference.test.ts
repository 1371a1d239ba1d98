import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import specSchema from "../../spec-schema.json" with { type: "json" };
import { specReferenceMarkdown } from "../../src/spec/reference.ts";
import { REFERENCE_END, REFERENCE_START, withReference } from "../../scripts/write-reference.ts";

const README = join(import.meta.dir, "..", "..", "README.md");

test("README.md carries exactly the reference generated from spec-schema.json", () => {
  const readme = readFileSync(README, "utf8");
  const start = readme.indexOf(REFERENCE_START);
  const end = readme.indexOf(REFERENCE_END);
  expect(start).toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  // When this fails: bun scripts/write-reference.ts
  expect(readme.slice(start + REFERENCE_START.length, end)).toBe(`\n${specReferenceMarkdown(specSchema)}`);
});

test("the reference lists every field with type, default and description", () => {
  const reference = specReferenceMarkdown(specSchema);
  expect(reference).toContain("| `loadBalancer.vrrp.routerId` | integer 1–255 | `51` | VRRP virtual router id");
  expect(reference).toContain("| `nodes.agents.vm.vmidStart` | integer 100–999999999 | `220` |");
  expect(reference).toContain("| `proxmox.tokenSecret` | secret | *required* |");
  expect(reference).toContain("| `nodes.servers.hosts[].name` | string | *required* |");
  expect(reference).toContain("| `network.dns` | list of IPv4 addresses | *required* |");
  expect(reference).toContain("| `rke2.cni` | `canal` \\| `calico` \\| `cilium` \\| `flannel` \\| `none` | `\"canal\"` |");
});

test("withReference replaces only what lies between the markers", () => {
  const readme = `# title\n${REFERENCE_START}\nold\n${REFERENCE_END}\nafter\n`;
  expect(withReference(readme, "new\n")).toBe(`# title\n${REFERENCE_START}\nnew\n${REFERENCE_END}\nafter\n`);
  expect(() => withReference("# no markers\n", "new\n")).toThrow("README.md needs the markers");
});
