import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Agent, request } from "node:https";
import { gunzipSync } from "node:zlib";
import { type ApiClient, emulatorForTest } from "./client.ts";
import { DEFAULT_TOKEN } from "./options.ts";
import type { Emulator } from "./server.ts";

let emulator: Emulator;
let api: ApiClient;

beforeAll(async () => {
  ({ emulator, api } = await emulatorForTest({ nodes: ["n1", "n2"] }));
});
afterAll(() => emulator.stop());

const authorization = `PVEAPIToken=${DEFAULT_TOKEN.id}=${DEFAULT_TOKEN.secret}`;

function rawGet(path: string, headers: Record<string, string>, agent: Agent | false = false) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }>((resolve, reject) => {
    const outgoing = request({ host: "127.0.0.1", port: emulator.port, path, ca: emulator.caPem, agent, headers }, (incoming) => {
      const chunks: Buffer[] = [];
      incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
      incoming.on("end", () => resolve({ status: incoming.statusCode ?? 0, headers: incoming.headers, body: Buffer.concat(chunks) }));
    });
    outgoing.on("error", reject);
    outgoing.end();
  });
}

describe("transport", () => {
  test("unknown nodes fail like the proxy's host lookup; offline nodes answer 595", async () => {
    const unknown = await api.call("GET", "/nodes/n9/qemu");
    expect(unknown.status).toBe(500);
    expect(unknown.reason).toBe("hostname lookup 'n9' failed - failed to get address info for: n9: Name or service not known");
    emulator.setNodeOnline("n2", false);
    const offline = await api.call("GET", "/nodes/n2/qemu");
    expect(offline.status).toBe(595);
    expect(offline.reason).toBe("No route to host");
    const nodes = (await api.call("GET", "/nodes")).body.data;
    expect(nodes.map((node: { node: string; status: string }) => `${node.node}:${node.status}`)).toEqual(["n1:online", "n2:offline"]);
    emulator.setNodeOnline("n2", true);
  });

  test("large answers are gzip-compressed for clients that accept it", async () => {
    const plain = await rawGet("/api2/json/cluster/resources", { Authorization: authorization });
    expect(plain.headers["content-encoding"]).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(1024);
    const compressed = await rawGet("/api2/json/cluster/resources", { Authorization: authorization, "Accept-Encoding": "gzip" });
    expect(compressed.headers["content-encoding"]).toBe("gzip");
    expect(gunzipSync(compressed.body).toString()).toBe(plain.body.toString());
  });

  test("a kept-alive connection is closed after 100 requests", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const connections: string[] = [];
      for (let index = 0; index < 101; index++) {
        const response = await rawGet("/api2/json/version", { Authorization: authorization }, agent);
        connections.push(String(response.headers.connection));
      }
      expect(connections.slice(0, 99).every((value) => value === "Keep-Alive")).toBe(true);
      expect(connections[99]).toBe("close");
      expect(connections[100]).toBe("Keep-Alive");
    } finally {
      agent.destroy();
    }
  });

  test("a GET with a body is refused; JSON bodies carry typed values", async () => {
    const withBody = await api.call("GET", "/version", {}, { body: "x=1", headers: { "Content-Type": "application/x-www-form-urlencoded" } });
    expect(withBody.status).toBe(501);
    expect(withBody.reason).toBe("Unexpected content for method 'GET'");
    const json = await api.call("POST", "/nodes/n1/qemu", { vmid: 700, onboot: true, cores: 2 }, { json: true });
    expect(json.status).toBe(200);
    await api.waitTask(json.body.data);
    expect((await api.call("GET", "/nodes/n1/qemu/700/config")).body.data).toMatchObject({ onboot: 1, cores: 2 });
  });
});
