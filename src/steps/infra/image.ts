// image:<node> — the image is in the `import` content of storage.image on that node, under a
// name that carries its SHA-256. Proxmox downloads it itself and checks the checksum.

import { apiPath, PermissionError } from "../../proxmox/index.ts";
import { type StepFamily, stepField } from "../family.ts";
import { type ActContext, unchanged, type Observed } from "../observed.ts";
import type { InfraRun } from "./context.ts";
import { isSharedStorage } from "./facts.ts";
import { importVolid } from "./image-source.ts";
import { PrivilegeError } from "./privileges.ts";
import { awaitTask } from "../../proxmox/task.ts";

/** Per attempt: downloads of big images take minutes on real storage. */
const TIMEOUT_MS = 60 * 60_000;

export const imageFamily: StepFamily<InfraRun> = {
  kinds: ["image"],
  timeoutMs: TIMEOUT_MS,
  observableBeforeNeeds: true,
  observe: (run, step, { fresh }) => observeImage(run, stepField(step, "pveNode"), fresh),
};

export async function observeImage(run: InfraRun, node: string, fresh: boolean): Promise<Observed> {
  const source = await run.image();
  const storage = run.inv.spec.proxmox.storage.image;
  const volid = importVolid(storage, source.fileName);
  const subject = `image ${volid} on ${node}`;
  const stored = (await run.facts.volumes(node, storage, fresh)).find((v) => v.volid === volid);
  // download-url renames the file into place only after the checksum matched: a present file is complete.
  if (stored !== undefined && stored.size > 0) return { changes: [unchanged(subject, "present; its name carries the checksum Proxmox verified")] };

  const shared = isSharedStorage(await run.facts.cluster(), storage, node);
  const download = async (ctx: ActContext) => {
    let upid: string;
    try {
      upid = await run.client.post<string>(apiPath`/nodes/${node}/storage/${storage}/download-url`, {
        url: source.url,
        content: "import",
        filename: source.fileName,
        checksum: source.sha256,
        "checksum-algorithm": "sha256",
      });
    } catch (err) {
      // The second half of download-url's check (Sys.AccessNetwork on the node, or Sys.Audit and
      // Sys.Modify on /) is an `or`, refused with a bare "Permission check failed".
      if (err instanceof PermissionError && err.aclPath === undefined) {
        throw new PrivilegeError(err.message, `/nodes/${node}`, "Sys.AccessNetwork", run.client.tokenId, { cause: err });
      }
      throw err;
    }
    await awaitTask(run.client, ctx, `downloading ${source.fileName} on ${node}`, upid);
  };
  return {
    changes: [{ op: "+", subject, reason: `download ${source.url}; Proxmox checks SHA-256 ${source.sha256.slice(0, 12)}…` }],
    // A shared storage is one file for every node: download it once.
    apply: (ctx) => (shared ? run.once(`download ${volid}`, () => download(ctx)) : download(ctx)),
  };
}
