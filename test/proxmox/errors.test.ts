// Every error class from the responses a real PVE gives: the body shape of PVE ≥ 8.4
// ({"data":null,"message":…}) and the older one where the text is only in the reason phrase.

import { createServer } from "node:net";
import { describe, expect, test } from "bun:test";
import {
  AuthError, LockTimeoutError, NotFoundError, ParameterError, PermissionError, ProxmoxError, TransientError,
  apiPath, isRetryable,
} from "../../src/proxmox/index.ts";
import { useFixture } from "./fixture.ts";
import { reply } from "./server.ts";

const fx = useFixture();

/** Answers every request with `status`, the reason phrase and, for the new shape, the body message. */
function answerError(status: number, text: string, shape: "message" | "reason-only", extra: object = {}): void {
  const reason = text.split("\n")[0] ?? "";
  fx.answer((_req, res) => reply(res, status, shape === "message" ? { data: null, message: text, ...extra } : { data: null, ...extra }, reason));
}

async function failure(call: Promise<unknown>): Promise<ProxmoxError> {
  const err = await call.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(ProxmoxError);
  return err as ProxmoxError;
}

const SHAPES = ["message", "reason-only"] as const;

describe("HTTP errors", () => {
  test("401 with an empty body → AuthError that names neither token id nor secret", async () => {
    fx.answer((_req, res) => reply(res, 401, undefined, "authentication failure"));
    const err = await failure(fx.client().get("/version"));
    expect(err).toBeInstanceOf(AuthError);
    expect(err.status).toBe(401);
    expect(err.reason).toBe("authentication failure");
    expect(err.message).toContain("check the API token id and secret");
    expect(err.message).not.toContain("starbase@pve");
    expect(err.retryable).toBe(false);
  });

  for (const shape of SHAPES) {
    test(`403 → PermissionError with ACL path and privilege (${shape})`, async () => {
      answerError(403, "Permission check failed (/vms/100, VM.Allocate)\n", shape);
      const err = await failure(fx.client().post(apiPath`/nodes/${"pve1"}/qemu`, { vmid: 100 }));
      expect(err).toBeInstanceOf(PermissionError);
      const perm = err as PermissionError;
      expect(perm.aclPath).toBe("/vms/100");
      expect(perm.privileges).toEqual(["VM.Allocate"]);
      expect(perm.message).toContain("the token needs VM.Allocate on /vms/100");
      expect(perm.method).toBe("POST");
      expect(perm.path).toBe("/nodes/pve1/qemu");
    });
  }

  test("403 variants: alternatives, trailing explanation, no detail", async () => {
    const cases: [string, string | undefined, string[]][] = [
      ["Permission check failed (/storage/local, Datastore.AllocateSpace|Datastore.Allocate)", "/storage/local",
        ["Datastore.AllocateSpace", "Datastore.Allocate"]],
      ["Permission check failed (/, Sys.Modify for modifying tag 'prod')", "/", ["Sys.Modify"]],
      ["Permission check failed (user != root@pam)", undefined, []],
      ["Permission check failed", undefined, []],
    ];
    for (const [text, aclPath, privileges] of cases) {
      answerError(403, text, "reason-only");
      const err = await failure(fx.client().get("/cluster/resources"));
      expect(err).toBeInstanceOf(PermissionError);
      expect((err as PermissionError).aclPath).toBe(aclPath);
      expect((err as PermissionError).privileges).toEqual(privileges);
      expect(err.reason).toBe(text);
    }
  });

  for (const shape of SHAPES) {
    test(`400 with per-parameter errors → ParameterError listing them (${shape})`, async () => {
      answerError(400, "Parameter verification failed.\n", shape, {
        errors: { vmid: "VM 218 already exists\n", name: "value does not look like a valid DNS name\n" },
      });
      const err = await failure(fx.client().post(apiPath`/nodes/${"pve1"}/qemu`, { vmid: 218, name: "bad_name" }));
      expect(err).toBeInstanceOf(ParameterError);
      expect((err as ParameterError).errors).toEqual({ vmid: "VM 218 already exists", name: "value does not look like a valid DNS name" });
      expect(err.message).toContain("vmid: VM 218 already exists; name: value does not look like a valid DNS name");
      expect(err.reason).toBe("Parameter verification failed.");
      expect(isRetryable(err)).toBe(false);
    });
  }

  for (const shape of SHAPES) {
    test(`500 lock timeouts → retryable LockTimeoutError (${shape})`, async () => {
      for (const text of [
        "unable to create VM 100 - can't lock file '/var/lock/qemu-server/lock-100.conf' - got timeout\n",
        "VM is locked (create)\n",
        "cfs-lock 'storage-ceph' error: got lock request timeout\n",
      ]) {
        answerError(500, text, shape);
        const err = await failure(fx.client().put(apiPath`/nodes/${"pve1"}/qemu/${100}/config`, { cores: 2 }));
        expect(err).toBeInstanceOf(LockTimeoutError);
        expect(err.reason).toBe(text.trim());
        expect(isRetryable(err)).toBe(true);
      }
    });
  }

  for (const shape of SHAPES) {
    test(`500 "does not exist" and 501 "not implemented" → NotFoundError (${shape})`, async () => {
      answerError(500, "Configuration file 'nodes/pve1/qemu-server/100.conf' does not exist\n", shape);
      const missingVm = await failure(fx.client().get(apiPath`/nodes/${"pve1"}/qemu/${100}/config`));
      expect(missingVm).toBeInstanceOf(NotFoundError);
      expect(missingVm.status).toBe(500);
      answerError(501, "Method 'GET /nodes/pve1/qemu/100/nonsense' not implemented", shape);
      const missingPath = await failure(fx.client().get(apiPath`/nodes/${"pve1"}/qemu/${100}/nonsense`));
      expect(missingPath).toBeInstanceOf(NotFoundError);
      expect(missingPath.status).toBe(501);
      expect(isRetryable(missingPath)).toBe(false);
    });
  }

  test("other 500/501 texts stay plain, fatal ProxmoxErrors; the Perl source location is dropped", async () => {
    answerError(500, "unable to create VM 100 - VM 100 already exists on node 'pve1'\n", "message");
    const exists = await failure(fx.client().post(apiPath`/nodes/${"pve1"}/qemu`, { vmid: 100 }));
    expect(exists.constructor).toBe(ProxmoxError);
    expect(exists.message).toBe("Proxmox API POST /nodes/pve1/qemu failed: 500 unable to create VM 100 - VM 100 already exists on node 'pve1'");
    expect(isRetryable(exists)).toBe(false);

    answerError(500, "Only root can pass arbitrary filesystem paths. at /usr/share/perl5/PVE/API2/Qemu.pm line 123.", "reason-only");
    const rootOnly = await failure(fx.client().post(apiPath`/nodes/${"pve1"}/qemu`, { vmid: 100 }));
    expect(rootOnly.reason).toBe("Only root can pass arbitrary filesystem paths.");

    answerError(501, "for data too large", "reason-only");
    expect((await failure(fx.client().post(apiPath`/nodes/${"pve1"}/qemu`, { vmid: 100 }))).constructor).toBe(ProxmoxError);
  });

  test("the body message wins over the reason phrase, which PVE cuts to the first line", async () => {
    answerError(500, "storage migration failed\nsecond line with detail\n", "message");
    expect((await failure(fx.client().get("/version"))).reason).toBe("storage migration failed\nsecond line with detail");
    fx.answer((_req, res) => reply(res, 500, { data: null, message: "\n" }, "the reason phrase"));
    expect((await failure(fx.client().get("/version"))).reason).toBe("the reason phrase");
  });

  test("596 with an empty body → TransientError; its outcome is unknown for mutating calls", async () => {
    fx.answer((_req, res) => reply(res, 596, undefined, "Connection timed out"));
    const get = await failure(fx.client().get("/cluster/resources"));
    expect(get).toBeInstanceOf(TransientError);
    expect(get.status).toBe(596);
    expect(get.reason).toBe("Connection timed out");
    expect(get.message).toBe("Proxmox API GET /cluster/resources failed: 596 Connection timed out");
    expect((get as TransientError).outcomeUnknown).toBe(false);
    expect(isRetryable(get)).toBe(true);
    const post = await failure(fx.client().post(apiPath`/nodes/${"pve1"}/qemu/${100}/status/start`));
    expect(post).toBeInstanceOf(TransientError);
    expect((post as TransientError).outcomeUnknown).toBe(true);
  });

  test("the other proxy pseudo-statuses and gateway errors are transient", async () => {
    for (const [status, reason] of [[595, "No route to host"], [597, "Broken pipe"], [598, "Request cancelled"],
      [599, "Too many redirections"], [502, "Bad Gateway"], [503, "Service Unavailable"], [504, "Gateway Timeout"]] as const) {
      fx.answer((_req, res) => reply(res, status, undefined, reason));
      const err = await failure(fx.client().get("/nodes"));
      expect(err).toBeInstanceOf(TransientError);
      expect(err.reason).toBe(reason);
    }
  });

  test("a 2xx answer that is not a JSON envelope is an error", async () => {
    fx.answer((_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html>proxy login</html>");
    });
    const err = await failure(fx.client().get("/version"));
    expect(err.constructor).toBe(ProxmoxError);
    expect(err.reason).toContain("not a Proxmox JSON envelope");
  });
});

describe("transport errors", () => {
  test("a dropped connection → TransientError; outcome unknown only for mutating calls", async () => {
    fx.answer((_req, res) => res.socket?.destroy());
    const get = await failure(fx.client().get("/version"));
    expect(get).toBeInstanceOf(TransientError);
    expect(get.status).toBeUndefined();
    expect((get as TransientError).outcomeUnknown).toBe(false);
    const post = await failure(fx.client().post(apiPath`/nodes/${"pve1"}/qemu`, { vmid: 100 }));
    expect(post).toBeInstanceOf(TransientError);
    expect((post as TransientError).outcomeUnknown).toBe(true);
    expect(post.message).toContain(`connection to ${fx.server.origin} failed`);
  });

  test("a refused connection → TransientError; nothing was sent", async () => {
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const address = probe.address();
        probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
      });
    });
    const err = await failure(fx.client({ endpoint: `https://127.0.0.1:${closedPort}` })
      .post(apiPath`/nodes/${"pve1"}/qemu`, { vmid: 100 }));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.reason).toContain("ECONNREFUSED");
    expect((err as TransientError).outcomeUnknown).toBe(false);
  });

  test("no answer within requestTimeoutMs → TransientError", async () => {
    fx.answer(() => undefined); // never answers
    const err = await failure(fx.client({ requestTimeoutMs: 150 }).get("/version"));
    expect(err).toBeInstanceOf(TransientError);
    expect(err.message).toContain("did not answer within 150 ms");
    expect(fx.server.requests.length).toBe(1);
  });

  test("isRetryable is false for anything that is not a retryable ProxmoxError", () => {
    expect(isRetryable(new Error("got timeout"))).toBe(false);
    expect(isRetryable("got timeout")).toBe(false);
    expect(isRetryable(undefined)).toBe(false);
  });
});
