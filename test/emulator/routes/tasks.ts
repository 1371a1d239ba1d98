// …/tasks: task list, status and log (pve-manager API2::Tasks).
import { hasPrivilege, requirePrivileges, splitTokenId } from "../auth.ts";
import { paramError } from "../errors.ts";
import type { TaskRecord } from "../state.ts";
import { decodeUpid } from "../tasks.ts";
import { Envelope, type RouteContext, flag, integer, nodeName, requiredText, text } from "./context.ts";

/** $check_task_user: a token's own tasks (a token sees only its own). */
function owns(context: RouteContext, task: TaskRecord): boolean {
  return task.user === context.identity.tokenId;
}

function readableTask(context: RouteContext): TaskRecord {
  const node = nodeName(context);
  const upid = requiredText(context, "upid");
  if (!decodeUpid(upid)) throw paramError({ upid: "unable to parse worker upid" });
  const task = context.core.tasks.find(node, upid);
  if (!task) throw paramError({ upid: "no such task" });
  // Tasks of others need Sys.Audit on the node; a token's own tasks need nothing.
  if (!owns(context, task)) requirePrivileges(context.identity, `/nodes/${node}`, ["Sys.Audit"]);
  return task;
}

function userFields(task: TaskRecord): Record<string, string> {
  if (!task.user.includes("!")) return { user: task.user };
  const { user, token } = splitTokenId(task.user);
  return { user, tokenid: token };
}

/** The fields of a task that its UPID spells out, as both the status and the task list return them. */
function upidFields(task: TaskRecord): Record<string, unknown> {
  const { upid, node, pid, pstart, starttime, type, id } = task;
  return { upid, node, pid, pstart, starttime, type, id };
}

export function taskStatus(context: RouteContext): Record<string, unknown> {
  const task = readableTask(context);
  const status: Record<string, unknown> = { ...upidFields(task), ...userFields(task), status: task.status };
  if (task.status === "stopped") status.exitstatus = task.exitstatus;
  return status;
}

export function taskLog(context: RouteContext): Envelope {
  const task = readableTask(context);
  const start = integer(context, "start") ?? 0;
  const limit = integer(context, "limit") ?? 50;
  const lines = task.log.slice(start, start + limit).map((line, index) => ({ n: start + index + 1, t: line }));
  return new Envelope(lines, { total: task.log.length });
}

export function taskIndex(context: RouteContext): { name: string }[] {
  readableTask(context);
  return [{ name: "log" }, { name: "status" }];
}

export function listTasks(context: RouteContext): Envelope {
  const node = nodeName(context);
  const source = text(context, "source") ?? "archive";
  const type = text(context, "typefilter");
  const vmid = text(context, "vmid");
  const user = text(context, "userfilter");
  const start = integer(context, "start") ?? 0;
  const limit = integer(context, "limit") ?? 50;
  const auditor = hasPrivilege(context.identity, `/nodes/${node}`, "Sys.Audit");
  const tasks = context.core.state.tasks
    .filter((task) => task.node === node && (auditor || owns(context, task)))
    .filter((task) => source === "all" || (source === "active") === (task.status === "running"))
    .filter((task) => type === undefined || task.type === type)
    .filter((task) => vmid === undefined || task.id === vmid)
    .filter((task) => user === undefined || task.user.includes(user))
    .filter((task) => !flag(context, "errors") || (task.exitstatus !== undefined && task.exitstatus !== "OK"))
    .sort((a, b) => b.starttime - a.starttime || b.pid - a.pid);
  const page = tasks.slice(start, start + limit).map((task) => {
    const entry: Record<string, unknown> = { ...upidFields(task), user: task.user };
    if (task.status === "stopped") Object.assign(entry, { status: task.exitstatus, endtime: task.endtime });
    return entry;
  });
  return new Envelope(page, { total: tasks.length });
}
