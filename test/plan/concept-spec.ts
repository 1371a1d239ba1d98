import type { Spec } from "../../src/spec/types.ts";
import { listedGroup, specFixture } from "../inventory/fixture.ts";

/** The concept document's topology: 3 PVE nodes, 2 LBs, 6 servers, 3 agents (count-generated). */
export function conceptSpec(): Spec {
  const spec = specFixture();
  spec.nodes.servers = listedGroup(
    210,
    [1, 2, 3, 4, 5, 6].map((n) => ({ name: `server0${n}`, ip: `10.0.20.3${n}` })),
  );
  return spec;
}
