import type { ServerResponse } from "node:http";
import { describe, expect, test } from "bun:test";
import {
  ParameterError, ProxmoxError, TaskError, TaskTimeoutError, TransientError, apiPath, isRetryable, parseUpid,
} from "../../src/proxmox/index.ts";
import type { TaskStatus } from "../../src/proxmox/index.ts";
import { useFixture } from "./fixture.ts";
import { type SeenRequest, reply } from "./server.ts";

const UPID = "UPID:pve2:0004A1B2:0123ABCD:6650F00D:qmcreate:210:starbase@pve!cli:";
const STATUS_URL = `/api2/json${apiPath`/nodes/${"pve2"}/tasks/${UPID}/status`}`;
const LOG_PATH = `/api2/json${apiPath`/nodes/${"pve2"}/tasks/${UPID}/log`}`;

describe("parseUpid", () => {
  test("splits a token-owned VM task", () => {
    expect(parseUpid(UPID)).toEqual({
      node: "pve2", pid: 0x4a1b2, pstart: 0x123abcd, starttime: 0x6650f00d, type: "qmcreate", id: "210", user: "starbase@pve!cli",
    });
  });

  test("empty id (uploads), 9-digit pstart, lower-case hex, hyphenated node", () => {
    expect(parseUpid("UPID:node-01:00001ed0:100035693:66343a23:imgcopy::root@pam:")).toEqual({
      node: "node-01", pid: 0x1ed0, pstart: 0x100035693, starttime: 0x66343a23, type: "imgcopy", id: "", user: "root@pam",
    });
  });

  test("anything else is not a UPID", () => {
    for (const bad of [
      "", "UPID:pve1:00001ED0:00035693:66343A23:qmstart:100:root@pam", // no trailing colon
      "upid:pve1:00001ED0:00035693:66343A23:qmstart:100:root@pam:",
      "UPID:-pve1:00001ED0:00035693:66343A23:qmstart:100:root@pam:",
      "UPID:pve1:1ED0:00035693:66343A23:qmstart:100:root@pam:",
      "UPID:pve1:00001ED0:00035693:66343A23:qm start:100:root@pam:",
      "UPID:pve1:00001ED0:00035693:66343A23:qmstart:100::",
      `${UPID} `,
    ]) {
      expect(parseUpid(bad)).toBeUndefined();
    }
  });
});

type Step = (res: ServerResponse) => void;
const running: Step = (res) => reply(res, 200, { data: status("running") });
const stopped = (exitstatus: string): Step => (res) => reply(res, 200, { data: status("stopped", exitstatus) });

function status(state: "running" | "stopped", exitstatus?: string): TaskStatus {
  return {
    upid: UPID, node: "pve2", type: "qmcreate", id: "210", user: "starbase@pve", status: state, starttime: 0x6650f00d,
    ...(exitstatus === undefined ? {} : { exitstatus }),
  };
}

const fx = useFixture();

/** Serves the status calls from `steps` in order (the last one repeats) and the task log from `log`. */
function serveTask(steps: Step[], log: string[] | "forbidden" = []): void {
  let poll = 0;
  fx.answer((req: SeenRequest, res) => {
    const url = new URL(req.url, "https://x");
    if (req.url === STATUS_URL) {
      const step = steps[Math.min(poll++, steps.length - 1)];
      step?.(res);
    } else if (url.pathname === LOG_PATH && log === "forbidden") {
      reply(res, 403, undefined, "Permission check failed (/nodes/pve2, Sys.Audit)");
    } else if (url.pathname === LOG_PATH && Array.isArray(log)) {
      const start = Number(url.searchParams.get("start") ?? 0);
      const limit = Number(url.searchParams.get("limit") ?? 50);
      const lines = log.slice(start, start + limit).map((t, i) => ({ n: start + i + 1, t }));
      reply(res, 200, { data: lines, total: log.length });
    } else {
      reply(res, 501, undefined, `Method '${req.method} ${url.pathname}' not implemented`);
    }
  });
}

function statusPolls(): SeenRequest[] {
  return fx.server.requests.filter((r) => r.url === STATUS_URL);
}

describe("waitTask", () => {
  test("polls the UPID's node until stopped with OK", async () => {
    serveTask([running, running, stopped("OK")]);
    const seen: string[] = [];
    const result = await fx.client().waitTask(UPID, { onProgress: (s) => seen.push(s.status) });
    expect(result).toEqual({ exitstatus: "OK", warnings: 0 });
    expect(seen).toEqual(["running", "running", "stopped"]);
    expect(statusPolls().length).toBe(3);
    expect(fx.server.requests.every((r) => r.method === "GET")).toBe(true);
  });

  test("WARNINGS: 2 is success with two warnings", async () => {
    serveTask([running, stopped("WARNINGS: 2")]);
    expect(await fx.client().waitTask(UPID)).toEqual({ exitstatus: "WARNINGS: 2", warnings: 2 });
  });

  test("a failed task throws TaskError with the tail of its log", async () => {
    const log = Array.from({ length: 44 }, (_, i) => `progress line ${i + 1}`);
    log.push("TASK ERROR: unable to create VM 210 - qemu-img: Could not open 'x.qcow2'");
    serveTask([running, stopped("unable to create VM 210 - qemu-img: Could not open 'x.qcow2'")], log);
    const err = await fx.client().waitTask(UPID).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    const task = err as TaskError;
    expect(task.exitstatus).toBe("unable to create VM 210 - qemu-img: Could not open 'x.qcow2'");
    expect(task.upid).toBe(UPID);
    expect(task.logTail).toEqual(log.slice(25));
    expect(task.message).toBe("Proxmox task qmcreate 210 on pve2 failed: unable to create VM 210 - qemu-img: Could not open 'x.qcow2'"
      + "\n  progress line 40\n  progress line 41\n  progress line 42\n  progress line 43\n  progress line 44");
    expect(isRetryable(task)).toBe(false);
    const logReads = fx.server.requests.filter((r) => r.url.startsWith(LOG_PATH)).map((r) => new URL(r.url, "https://x").search);
    expect(logReads).toEqual(["?start=0&limit=20", "?start=25&limit=20"]);
  });

  test("a short log is read once; a lock timeout inside the task is retryable", async () => {
    const exitstatus = "can't lock file '/var/lock/qemu-server/lock-210.conf' - got timeout";
    serveTask([stopped(exitstatus)], ["trying to acquire lock...", `TASK ERROR: ${exitstatus}`]);
    const err = await fx.client().waitTask(UPID).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).logTail).toEqual(["trying to acquire lock...", `TASK ERROR: ${exitstatus}`]);
    expect(isRetryable(err)).toBe(true);
    expect(fx.server.requests.filter((r) => r.url.startsWith(LOG_PATH)).length).toBe(1);
  });

  test("an unreadable log does not hide the task error", async () => {
    serveTask([stopped("VM 210 already running")], "forbidden");
    const err = await fx.client().waitTask(UPID).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).logTail).toEqual([]);
  });

  test("400 on the first polls is tolerated (the task is not visible yet)", async () => {
    const noSuchTask: Step = (res) => reply(res, 400, { data: null, errors: { upid: "no such task" } }, "Parameter verification failed.");
    serveTask([noSuchTask, noSuchTask, running, stopped("OK")]);
    expect(await fx.client().waitTask(UPID)).toEqual({ exitstatus: "OK", warnings: 0 });
    expect(statusPolls().length).toBe(4);
  });

  test("a 400 that persists is a ParameterError", async () => {
    serveTask([(res) => reply(res, 400, { data: null, errors: { upid: "unable to parse worker upid" } }, "Parameter verification failed.")]);
    const err = await fx.client().waitTask(UPID).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ParameterError);
    expect((err as ParameterError).errors).toEqual({ upid: "unable to parse worker upid" });
    expect(statusPolls().length).toBe(6);
  });

  test("transient failures while polling are retried and nothing is re-dispatched", async () => {
    serveTask([
      running,
      (res) => reply(res, 596, undefined, "Connection timed out"),
      (res) => res.socket?.destroy(),
      (res) => reply(res, 599, undefined, "Too many redirections"),
      stopped("OK"),
    ]);
    expect(await fx.client().waitTask(UPID)).toEqual({ exitstatus: "OK", warnings: 0 });
    expect(statusPolls().length).toBe(5);
    expect(fx.server.requests.every((r) => r.method === "GET" && r.url === STATUS_URL)).toBe(true);
  });

  test("a node that keeps failing ends the wait with the transient error", async () => {
    serveTask([(res) => reply(res, 596, undefined, "Connection timed out")]);
    const err = await fx.client().waitTask(UPID).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect(statusPolls().length).toBe(11);
  });

  test("timeoutMs gives up on a task that keeps running, without stopping it", async () => {
    serveTask([running]);
    const err = await fx.client().waitTask(UPID, { timeoutMs: 60 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(TaskTimeoutError);
    expect((err as TaskTimeoutError).upid).toBe(UPID);
    expect((err as TaskTimeoutError).message).toContain("qmcreate 210 on pve2 still running after 60 ms");
    expect(fx.server.requests.every((r) => r.method === "GET")).toBe(true);
  });

  test("an abort signal ends the wait with its reason", async () => {
    serveTask([running]);
    const controller = new AbortController();
    const waiting = fx.client({ taskPollMs: 50 }).waitTask(UPID, {
      signal: controller.signal,
      onProgress: () => controller.abort(new Error("operator cancelled")),
    });
    await expect(waiting).rejects.toThrow("operator cancelled");
    expect(statusPolls().length).toBe(1);
  });

  test("a status answer without running/stopped is an error, not a crash", async () => {
    serveTask([(res) => reply(res, 200, { data: null })]);
    const err = await fx.client().waitTask(UPID).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ProxmoxError);
    expect((err as ProxmoxError).reason).toContain("no running/stopped status");
  });

  test("a malformed UPID is refused without a request", async () => {
    await expect(fx.client().waitTask("UPID:nonsense")).rejects.toThrow(/not a Proxmox task id/);
    expect(fx.server.requests.length).toBe(0);
  });
});
