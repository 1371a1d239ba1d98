// One rule for Proxmox API token ids, written once (token-id.ts), that the emulator applies and
// that spec-schema.json's proxmox.tokenId pattern spells: both must agree with each other and,
// for the token name, with the `tokenid` pattern of the real API schema.
import { describe, expect, test } from "bun:test";
import specSchema from "../../spec-schema.json" with { type: "json" };
import { loadSpecText } from "../../src/spec/load.ts";
import { ApiClient, emulatorForTest, tokenHeader } from "./client.ts";
import { parseTokenArgument } from "./options.ts";
import { ApiSchema, schemaFileFor } from "./schema.ts";
import { isPveTokenId, PVE_TOKEN_ID_PATTERN, PVE_TOKEN_NAME_PATTERN } from "./token-id.ts";

/** A Perl qr// as the API schema prints it, `(?^:…)`, without the wrapper. */
function perlPattern(printed: string): string {
  const match = /^\(\?\^[a-z]*:(.*)\)$/.exec(printed);
  return match?.[1] ?? printed;
}

describe.each(["9.1", "8.4"])("the PVE %s API schema", (release) => {
  test("its token name pattern is the emulator's", () => {
    const tokenid = ApiSchema.load(schemaFileFor(release)).parameter("GET", "/access/users/{userid}/token/{tokenid}", "tokenid");
    expect(perlPattern(String(tokenid?.pattern))).toBe(PVE_TOKEN_NAME_PATTERN);
  });
});

test("spec-schema.json's proxmox.tokenId pattern is the emulator's rule", () => {
  expect(specSchema.properties.proxmox.properties.tokenId.pattern).toBe(PVE_TOKEN_ID_PATTERN);
});

const SAMPLES: [string, boolean][] = [
  ["root@pam!starbase", true],
  ["root@pam!ab", true],
  ["root@pam!a", false], // a token name of one character: Proxmox has none
  ["root@pam!9lives", false],
  ["root@pam!has space", false],
  ["root@p!starbase", false], // a realm of one character
  ["ops.team@pve!ci-01_x.y", true],
  ["root@pam", false],
  ["ro:ot@pam!starbase", false],
];

function specAccepts(tokenId: string): boolean {
  const text = `name: lab
proxmox:
  endpoint: https://pve1.lan:8006
  tokenId: ${JSON.stringify(tokenId)}
  tokenSecret: { env: PVE_TOKEN_SECRET }
  tls: { insecure: true }
  nodes: [node01]
ssh:
  authorizedKeys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKLtXREF5t41+F54/6SG4y7EyW3dhpCdzdVLhQfUgIol ops@laptop"]
  hostKeySecret: { env: STARBASE_HOSTKEY_SECRET }
network: { bridge: vmbr0, cidr: 10.0.20.0/24, gateway: 10.0.20.1, dns: [10.0.20.1] }
nodes:
  loadBalancers: { hosts: [{ name: lb01, ip: 10.0.20.21 }] }
  servers: { hosts: [{ name: server01, ip: 10.0.20.31 }] }
loadBalancer: { vip: 10.0.20.10 }
`;
  const loaded = loadSpecText(text, "c.yaml");
  if (loaded.diagnostics.some((d) => !d.message.startsWith("proxmox.tokenId:"))) throw new Error(JSON.stringify(loaded.diagnostics));
  return loaded.spec !== undefined;
}

function emulatorAccepts(tokenId: string): boolean {
  try {
    parseTokenArgument(`${tokenId}=secret`);
    return true;
  } catch {
    return false;
  }
}

test.each(SAMPLES)("%s: spec validation and the emulator agree (%p)", (tokenId, valid) => {
  expect({ rule: isPveTokenId(tokenId), spec: specAccepts(tokenId), emulator: emulatorAccepts(tokenId) }).toEqual({
    rule: valid,
    spec: valid,
    emulator: valid,
  });
});

test("the emulator refuses a token id Proxmox cannot split, even when configured", async () => {
  const short = { id: "root@pam!a", secret: "11111111-2222-3333-4444-555555555555" };
  const { emulator } = await emulatorForTest({ nodes: ["n1"], tokens: [short] });
  try {
    const response = await new ApiClient(emulator, tokenHeader(short.id, short.secret)).call("GET", "/version", {});
    expect(response.status).toBe(401);
    expect(response.reason).toBe("Authentication failed!");
  } finally {
    await emulator.stop();
  }
});
