// What a joining server or an agent does before it has anything of its own (k3s
// pkg/clientaccess/token.go): fetch /cacerts without verification, fetch it again verifying the
// server certificate against that bundle (this is where a certificate without the VIP among its
// SANs fails), compare the bundle's hash with the token's, then call the supervisor with basic auth.

import { checkCAHash, type Token } from "./token.ts";
import { log } from "./records.ts";

export class JoinError extends Error {}

function describe(error: unknown, url: string): string {
  const e = error as Error & { code?: string };
  if (e.code === "ERR_TLS_CERT_ALTNAME_INVALID") return `Get "${url}": x509: certificate is not valid for ${new URL(url).hostname} (ERR_TLS_CERT_ALTNAME_INVALID)`;
  return `Get "${url}": ${e.code ? `${e.code}: ` : ""}${e.message}`;
}

/** Connection-level failures (nothing listening yet, haproxy with no server up): RKE2 keeps waiting. */
function isNetworkError(error: unknown): boolean {
  const code = (error as { code?: string }).code ?? "";
  return !/CERT|TLS|SIGNATURE|SELF_SIGNED|ISSUER/.test(code);
}

async function get(url: string, tls: Record<string, unknown>, headers: Record<string, string> = {}): Promise<Response> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await fetch(url, { tls, headers, signal: AbortSignal.timeout(10_000) } as RequestInit);
    } catch (error) {
      if (!isNetworkError(error)) throw error;
      if (attempt % 5 === 0) log("info", `Waiting for ${url}; server is not ready: ${describe(error, url)}`);
      await Bun.sleep(2000);
    }
  }
}

async function bodyOrError(response: Response, url: string): Promise<string> {
  const body = await response.text();
  if (response.ok) return body;
  let message = `${url}: ${response.status} ${response.statusText}`;
  try {
    const parsed = JSON.parse(body) as { kind?: string; message?: string };
    if (parsed.kind === "Status" && parsed.message) message = parsed.message;
  } catch {
    // not a Status: keep the status line
  }
  throw new JoinError(message);
}

/** k3s getCACerts + validateCAHash: the bundle to trust from now on. */
export async function fetchClusterCA(server: string, token: Token): Promise<string> {
  const url = `${server.replace(/\/+$/, "")}/cacerts`;
  let cacerts: string;
  try {
    cacerts = await bodyOrError(await get(url, { rejectUnauthorized: false }), url);
  } catch (error) {
    throw new JoinError(`failed to get CA certs: ${error instanceof JoinError ? error.message : describe(error, url)}`);
  }
  try {
    await bodyOrError(await get(url, { ca: cacerts }), url);
  } catch (error) {
    throw new JoinError(`CA cert validation failed: ${error instanceof JoinError ? error.message : describe(error, url)}`);
  }
  try {
    const { warning } = checkCAHash(token, cacerts);
    if (warning) log("warning", warning);
  } catch (error) {
    throw new JoinError((error as Error).message);
  }
  return cacerts;
}

export async function supervisorGet(server: string, path: string, cacerts: string, user: string, password: string, headers: Record<string, string> = {}): Promise<string> {
  const url = `${server.replace(/\/+$/, "")}${path}`;
  const authorization = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  try {
    return await bodyOrError(await get(url, { ca: cacerts }, { authorization, ...headers }), url);
  } catch (error) {
    if (error instanceof JoinError) throw error;
    throw new JoinError(describe(error, url));
  }
}
