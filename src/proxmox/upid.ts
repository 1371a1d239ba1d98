// Proxmox task ids: UPID:<node>:<pid>:<pstart>:<starttime>:<type>:<id>:<user>:
// (pid, pstart, starttime in hex; note the trailing colon). The node is where the task runs
// and where its status and log must be asked for.

export interface Upid {
  node: string;
  pid: number;
  pstart: number;
  /** Unix seconds. */
  starttime: number;
  /** qmcreate, qmstart, download, imgcopy … */
  type: string;
  /** VMID for VM tasks, the file name for downloads, "" for uploads. */
  id: string;
  /** user@realm, or user@realm!token for API-token calls. */
  user: string;
}

const UPID = /^UPID:([a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):([^:\s]+):([^:\s]*):([^:\s]+):$/;

/** The parts of a UPID, or undefined when the text is not one. */
export function parseUpid(upid: string): Upid | undefined {
  const m = UPID.exec(upid);
  if (m === null) return undefined;
  const [, node, pid, pstart, starttime, type, id, user] = m;
  if (node === undefined || pid === undefined || pstart === undefined || starttime === undefined
    || type === undefined || id === undefined || user === undefined) return undefined;
  return {
    node,
    pid: parseInt(pid, 16),
    pstart: parseInt(pstart, 16),
    starttime: parseInt(starttime, 16),
    type,
    id,
    user,
  };
}
