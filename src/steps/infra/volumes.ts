// Files on a Proxmox storage that a step removes (replaced or destroyed seed ISOs).

import { apiPath, NotFoundError } from "../../proxmox/index.ts";
import type { ActContext } from "../observed.ts";
import type { InfraRun } from "./context.ts";
import { awaitTask } from "../../proxmox/task.ts";

export interface StoredFile {
  node: string;
  volid: string;
}

/** Deletes files (stale seed ISOs); one that is already gone counts as deleted. */
export async function removeVolumes(run: InfraRun, files: readonly StoredFile[], ctx: ActContext): Promise<void> {
  for (const { node, volid } of files) {
    const storage = volid.slice(0, volid.indexOf(":"));
    try {
      const upid = await run.client.delete<string | null>(apiPath`/nodes/${node}/storage/${storage}/content/${volid}`);
      await awaitTask(run.client, ctx, `removing ${volid} on ${node}`, upid);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
    }
  }
}
