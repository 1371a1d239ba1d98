// One HTTPS test server per test file whose answers each test sets, and clients that trust it
// through its CA. Register with `useFixture()` at the top of a test file.

import { afterAll, afterEach, beforeAll } from "bun:test";
import { ProxmoxClient, type ProxmoxOptions } from "../../src/proxmox/index.ts";
import { type Pki, makePki } from "./pki.ts";
import { type Handler, type TestServer, reply, startServer } from "./server.ts";

export const TOKEN_ID = "starbase@pve!cli";
export const TOKEN_SECRET = "5e1c7a9d-3b2f-4e8a-9c6d-0f1e2d3c4b5a";

export interface Fixture {
  server: TestServer;
  /** Replaces how the server answers. */
  answer(handler: Handler): void;
  client(options?: Partial<ProxmoxOptions>): ProxmoxClient;
}

export function useFixture(): Fixture {
  let pki: Pki;
  let handler: Handler = (_req, res) => reply(res, 501, undefined, "no handler set");
  const clients: ProxmoxClient[] = [];
  const fixture = {
    server: undefined as unknown as TestServer,
    answer(next: Handler) {
      handler = next;
    },
    client(options: Partial<ProxmoxOptions> = {}) {
      const c = new ProxmoxClient({
        endpoint: fixture.server.origin,
        tokenId: TOKEN_ID,
        tokenSecret: TOKEN_SECRET,
        tls: { caPem: pki.ca.cert },
        taskPollMs: 5,
        ...options,
      });
      clients.push(c);
      return c;
    },
  };
  beforeAll(async () => {
    pki = makePki();
    fixture.server = await startServer(pki.server, (req, res) => handler(req, res));
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    fixture.server.requests.length = 0;
  });
  afterAll(async () => {
    await fixture.server.close();
    pki.remove();
  });
  return fixture;
}
