import { describe, expect, test } from "bun:test";
import { ProxmoxClient, type ProxmoxOptions } from "../../src/proxmox/index.ts";
import { TOKEN_SECRET, useFixture } from "./fixture.ts";
import { reply } from "./server.ts";

const valid: ProxmoxOptions = { endpoint: "https://pve1.lan:8006", tokenId: "starbase@pve!cli", tokenSecret: TOKEN_SECRET, tls: { insecure: true } };

function build(overrides: Partial<ProxmoxOptions>): () => ProxmoxClient {
  return () => new ProxmoxClient({ ...valid, ...overrides });
}

describe("client options", () => {
  test("endpoint must be an https origin", () => {
    expect(new ProxmoxClient({ ...valid, endpoint: "https://pve1.lan:8006/" }).endpoint).toBe("https://pve1.lan:8006");
    expect(new ProxmoxClient({ ...valid, endpoint: "https://[fd00::1]:8006" }).endpoint).toBe("https://[fd00::1]:8006");
    for (const endpoint of ["http://pve1.lan:8006", "pve1.lan:8006", "https://pve1.lan:8006/api2/json", "https://u:p@pve1.lan:8006",
      "https://pve1.lan:8006/?x=1", "not a url"]) {
      expect(build({ endpoint })).toThrow(/endpoint/);
    }
  });

  test("tokenId must be user@realm!token", () => {
    for (const tokenId of ["root@pam!starbase", "john@example.com@openid!cli", "svc.k8s@pve!t-1_x"]) {
      expect(new ProxmoxClient({ ...valid, tokenId }).tokenId).toBe(tokenId);
    }
    for (const tokenId of ["", "root@pam", "root!cli", "root@pam!", "root@pam!1abc", "root@pam!c", "ro ot@pam!cli", "root@1pam!cli"]) {
      expect(build({ tokenId })).toThrow(/tokenId/);
    }
  });

  test("tokenSecret must be a plain token; timeouts must be positive", () => {
    for (const tokenSecret of ["", "a b", "a;b", "a=b", "a%20b"]) expect(build({ tokenSecret })).toThrow(/tokenSecret/);
    for (const requestTimeoutMs of [0, -1, NaN]) expect(build({ requestTimeoutMs })).toThrow(/requestTimeoutMs/);
    expect(build({ taskPollMs: 0 })).toThrow(/taskPollMs/);
  });

  test("close() can be called more than once", async () => {
    const client = new ProxmoxClient(valid);
    await client.close();
    await client.close();
  });
});

describe("authorization header", () => {
  const fx = useFixture();

  test("is PVEAPIToken=<tokenId>=<secret>, also for users whose name contains @", async () => {
    fx.answer((_req, res) => reply(res, 200, { data: {} }));
    await fx.client({ tokenId: "john@example.com@openid!cli" }).get("/version");
    expect(fx.server.requests[0]?.headers.authorization).toBe(`PVEAPIToken=john@example.com@openid!cli=${TOKEN_SECRET}`);
  });
});
