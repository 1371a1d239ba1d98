// seed:<host> — the host's NoCloud seed ISO (user-data with its SSH host key, meta-data,
// network-config) is uploaded as `iso` content to storage.cloudInit on the host's node.

import { type StepFamily, stepHost } from "../family.ts";
import { unchanged, type Observed } from "../observed.ts";
import type { InfraRun } from "./context.ts";
import type { Host } from "../../inventory/types.ts";
import { awaitTask } from "../../proxmox/task.ts";

export const seedFamily: StepFamily<InfraRun> = {
  kinds: ["seed"],
  timeoutMs: 10 * 60_000,
  observableBeforeNeeds: true,
  observe: (run, step, { fresh }) => observeSeed(run, stepHost(run.inv, step), fresh),
};

export async function observeSeed(run: InfraRun, host: Host, fresh: boolean): Promise<Observed> {
  const seed = run.seed(host);
  const storage = run.inv.spec.proxmox.storage.cloudInit;
  const subject = `seed ISO ${seed.volid} on ${host.pveNode}`;
  const stored = (await run.facts.volumes(host.pveNode, storage, fresh)).find((v) => v.volid === seed.volid);
  if (stored !== undefined && stored.size === seed.bytes.length) return { changes: [unchanged(subject, "present; its name carries a hash of its content")] };

  const reason = stored === undefined
    ? "rendered cloud-init files not on Proxmox yet"
    : `stored file has ${stored.size} bytes, the rendered ISO ${seed.bytes.length}: upload again`;
  return {
    changes: [{ op: stored === undefined ? "+" : "~", subject, reason }],
    async apply(ctx) {
      const upid = await run.client.upload(host.pveNode, storage, "iso", seed.fileName, seed.bytes, { algorithm: "sha256", value: seed.sha256 });
      await awaitTask(run.client, ctx, `uploading ${seed.fileName}`, upid);
    },
  };
}
