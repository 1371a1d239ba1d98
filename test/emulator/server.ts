// The HTTPS front end: request parsing, authentication, routing, permission and schema checks,
// fault injection and the response format of pveproxy (pve-http-server).
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { Socket } from "node:net";
import { AccessControl, authenticate, checkApiPermissions, type Identity, type PrivilegeCheck } from "./auth.ts";
import { ApiError, notImplemented, paramError, permissionError } from "./errors.ts";
import { FaultInjector, type RequestFaults } from "./faults.ts";
import { decodeJsonBody, decodeUrlencoded, multipartBoundary, parseUploadMultipart, type MultipartUpload } from "./http-body.ts";
import { LockManager } from "./locks.ts";
import {
  type ContainerSpec,
  DEFAULT_TOKEN,
  defaultStorages,
  type EmulatorOptions,
  type DatacenterSettings,
  type FaultOptions,
  type UpstreamFile,
} from "./options.ts";
import { RequestLog, type RequestLogEntry } from "./request-log.ts";
import { type EmulatorCore, type Release, type RouteHandler, atLeast, requireNode } from "./routes/context.ts";
import { Responder, errorOutcome, successOutcome, type Outcome } from "./respond.ts";
import { findRoute, matchLocally } from "./routes/index.ts";
import { ApiSchema, schemaFileFor, type MethodInfo } from "./schema.ts";
import { DEFAULT_SAMPLE_MS, VmSamples } from "./samples.ts";
import { EmulatorState, type VolumeRecord } from "./state.ts";
import { placeFile } from "./storage-model.ts";
import { TaskManager } from "./tasks.ts";
import { datacenterConfig } from "./tag-access.ts";
import { createCertificate } from "./tls.ts";

export interface Emulator {
  /** https://127.0.0.1:PORT (without /api2/json) */
  readonly url: string;
  readonly port: number;
  readonly fingerprint: string;
  /** The self-signed certificate, usable as CA of a client. */
  readonly caPem: string;
  readonly state: EmulatorState;
  readonly requestLog: RequestLogEntry[];
  /** Every privilege check made so far (what each request needed, and whether it had it). */
  readonly privilegeChecks: readonly PrivilegeCheck[];
  /** The schema in use; undefined when schema checks are off. */
  readonly schemaFile: string | undefined;
  readonly notices: string[];
  setFaults(options: FaultOptions): void;
  /** Offers a file at `url` to download-url. */
  publish(url: string, file: UpstreamFile): void;
  /** Places a file on a node's storage as if copied there (e.g. snippets over SSH). */
  putFile(node: string, volid: string, data: string | Uint8Array): VolumeRecord;
  setNodeOnline(node: string, online: boolean): void;
  /** One pvestatd cycle now: /cluster/resources shows every VM as it is. */
  sample(): void;
  /** Replaces the datacenter.cfg settings (user-tag-access, registered-tags). */
  setDatacenter(settings: DatacenterSettings): void;
  /** An LXC container appears, taking its VMID (made outside the emulated API). */
  addContainer(container: ContainerSpec): void;
  /** Resolves when no task is running. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

const KNOWN_METHODS = new Set(["GET", "POST", "PUT", "DELETE"]);

interface Exchange {
  method: string;
  path: string;
  params: Record<string, unknown>;
  fault?: string;
}

function parseRelease(version: string): Release {
  const [major = 9, minor = 1] = version.split(".").map(Number);
  return { name: `${major}.${minor}`, major, minor };
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => resolve(Buffer.concat(chunks)));
    request.on("error", reject);
  });
}

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const release = parseRelease(options.version ?? "9.1");
  const notices: string[] = [];
  const notice = (line: string): void => {
    notices.push(line);
    (options.notice ?? ((text: string) => console.error(text)))(line);
  };
  const schemaFile = options.schemaFile === null ? undefined : (options.schemaFile ?? schemaFileFor(release.name));
  const schema = schemaFile ? ApiSchema.load(schemaFile) : undefined;
  if (!schema) notice("no PVE API schema requested: schema checks are off");

  const nodesOption = options.nodes ?? ["pve1"];
  const state = EmulatorState.open(nodesOption, options.storages ?? defaultStorages(release.name, options.installer), options.stateFile, options.containers);
  const taskMs = options.taskMs ?? 200;
  const lockScale = options.lockScale ?? 1;
  const certificate = await createCertificate();
  const core: EmulatorCore = {
    release,
    access: new AccessControl(options.tokens ?? [DEFAULT_TOKEN]),
    state,
    samples: new VmSamples(state, options.sampleMs ?? DEFAULT_SAMPLE_MS),
    datacenter: datacenterConfig(options.datacenter),
    tasks: new TaskManager(state, (type) => options.taskDurations?.[type] ?? taskMs),
    locks: new LockManager(lockScale),
    faults: new FaultInjector(options.faults),
    schema,
    upstream: new Map(Object.entries(options.published ?? {})),
    allocationMs: options.allocationMs ?? taskMs / 4,
    timeScale: lockScale,
    agentDelayMs: options.agentDelayMs ?? 0,
    fingerprint: certificate.fingerprint,
  };
  const requestLog = new RequestLog(options.requestLogFile);
  const proxyTimeoutMs = 30_000 * lockScale;
  const bodyLimit = atLeast(release, 8, 4) ? 512 * 1024 : 64 * 1024;

  /** Routing: the schema decides which paths exist; the emulator which of them it implements. */
  function route(method: string, path: string): { template: string; info?: MethodInfo; handler: RouteHandler; pathParams: Record<string, string> } {
    const notFound = notImplemented(`Method '${method} ${path}' not implemented`);
    if (schema) {
      const match = schema.match(method, path);
      if (!match?.info) throw notFound;
      const handler = findRoute(method, match.template)?.handler;
      if (!handler) throw notImplemented(`Method '${method} ${match.template}' is not emulated`);
      return { template: match.template, info: match.info, handler, pathParams: match.pathParams };
    }
    const local = matchLocally(method, path);
    if (!local?.route) throw notFound;
    return { template: local.template, handler: local.route.handler, pathParams: local.pathParams };
  }

  async function withProxyTimeout<T>(work: Promise<T>): Promise<T> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new ApiError(596, "Connection timed out", undefined, true)), proxyTimeoutMs);
    });
    try {
      return await Promise.race([work, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async function dispatch(request: IncomingMessage, body: Buffer, exchange: Exchange): Promise<Outcome> {
    const { method } = exchange;
    if (!KNOWN_METHODS.has(method)) throw new ApiError(501, `method '${method}' not available`, undefined, true);
    const transferEncoding = request.headers["transfer-encoding"];
    if (transferEncoding) {
      const chunked = transferEncoding.toLowerCase() === "chunked";
      throw new ApiError(501, chunked ? "chunked transfer encoding not supported" : `Unknown transfer encoding '${transferEncoding}'`, undefined, true);
    }
    const api = /^\/api2\/+([a-z][a-z0-9]+)(\/.*)?$/.exec(exchange.path);
    if (!api) throw new ApiError(501, `no such file '${exchange.path}'`, undefined, true);
    if (api[1] !== "json") throw new ApiError(501, "the emulator only serves the json format", undefined, true);
    const path = api[2] ?? "/";
    exchange.path = path;
    const query = decodeUrlencoded(new URL(request.url ?? "/", "https://emulator").search.slice(1));
    exchange.params = { ...query };

    let identity: Identity;
    try {
      identity = authenticate(request.headers.authorization, core.access, `${method} ${path}`);
    } catch (error) {
      await Bun.sleep(options.authFailureDelayMs ?? 0);
      throw error;
    }

    const isUpload = /^\/nodes\/[^/]+\/storage\/[^/]+\/upload$/.test(path);
    const contentType = request.headers["content-type"] ?? "";
    let upload: MultipartUpload | undefined;
    let bodyParams: Record<string, unknown> = {};
    if (body.length > 0) {
      if (method !== "POST" && method !== "PUT") throw new ApiError(501, `Unexpected content for method '${method}'`, undefined, true);
      const boundary = multipartBoundary(contentType);
      if (isUpload) {
        if (!boundary) throw new ApiError(501, `upload 'Content-Type '${contentType}' not implemented`, undefined, true);
        upload = parseUploadMultipart(body, boundary);
        bodyParams = { ...upload.params, filename: upload.filename };
      } else {
        if (body.length > bodyLimit) throw new ApiError(501, "for data too large", undefined, true);
        const type = contentType.split(";")[0]?.trim() ?? "";
        if (type === "application/json") bodyParams = decodeJsonBody(body.toString("utf8"));
        else if (type === "" || type === "application/x-www-form-urlencoded") bodyParams = decodeUrlencoded(body.toString("latin1"));
        else throw new ApiError(506, `upload 'Content-Type '${contentType}' not implemented`, undefined, true);
      }
    }
    const params: Record<string, unknown> = { ...bodyParams, ...query };
    exchange.params = { ...params };

    const faults = core.faults.draw(method !== "GET");
    const target = route(method, path);
    if (target.info?.allowtoken === 0) throw permissionError(`URI '${path}' not available with API token, need proper ticket.`);
    for (const [name, value] of Object.entries(target.pathParams)) {
      if (params[name] !== undefined && String(params[name]) !== value) {
        throw paramError({ [name]: "duplicate parameter (already defined in URI) with conflicting values!" });
      }
      params[name] = value;
    }
    if (target.info) checkApiPermissions(target.info, identity, params);
    if (target.pathParams.node !== undefined) requireNode(core, target.pathParams.node);

    const mutating = method !== "GET";
    const performFirst = mutating && faults.actionPerformed;
    if (faults.transport && !performFirst) return transportFault(faults, exchange);
    if (target.info && schema) {
      const errors = schema.validate(target.info, params);
      if (Object.keys(errors).length > 0) throw paramError(errors);
    }
    const context = { core, params, identity, faults, upload };
    let outcome: Outcome;
    try {
      outcome = successOutcome(await withProxyTimeout(Promise.resolve().then(() => target.handler(context))));
    } catch (error) {
      outcome = errorOutcome(error, release);
    }
    if (faults.transport) return transportFault(faults, exchange);
    return outcome;
  }

  function transportFault(faults: RequestFaults, exchange: Exchange): Outcome {
    exchange.fault = faults.transport;
    if (faults.transport === "drop") return { drop: true };
    return { drop: false, status: 596, reason: "Connection timed out" };
  }

  const responder = new Responder();

  async function onRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const method = request.method ?? "GET";
    const rawPath = new URL(request.url ?? "/", "https://emulator").pathname;
    let decodedPath = rawPath;
    try {
      decodedPath = decodeURIComponent(rawPath);
    } catch {
      // keep the raw path, as uri_unescape would leave malformed escapes alone
    }
    const exchange: Exchange = { method, path: decodedPath, params: {} };
    let outcome: Outcome;
    try {
      const body = await readBody(request);
      outcome = await dispatch(request, body, exchange);
    } catch (error) {
      outcome = errorOutcome(error, release);
    }
    const entry: RequestLogEntry = { method, path: exchange.path, params: exchange.params };
    if (outcome.drop) entry.status = 0;
    else if (outcome.status >= 400) entry.status = outcome.status;
    if (exchange.fault) entry.fault = exchange.fault;
    requestLog.append(entry);
    responder.send(request, response, outcome);
  }

  const sockets = new Set<Socket>();
  const server: Server = createServer({ cert: certificate.certPem, key: certificate.keyPem }, (request, response) => {
    void onRequest(request, response);
  });
  server.keepAliveTimeout = 5_000;
  server.on("secureConnection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;

  return {
    url: `https://127.0.0.1:${port}`,
    port,
    fingerprint: certificate.fingerprint,
    caPem: certificate.certPem,
    state,
    requestLog: requestLog.entries,
    privilegeChecks: core.access.checks,
    schemaFile,
    notices,
    setFaults: (faultOptions) => core.faults.configure(faultOptions),
    publish: (url, file) => core.upstream.set(url, file),
    putFile: (node, volid, data) => placeFile(state, node, volid, data),
    setNodeOnline(node, online) {
      const record = state.node(node);
      if (!record) throw new Error(`unknown node '${node}'`);
      record.online = online;
      state.changed();
    },
    sample: () => core.samples.take(),
    setDatacenter(settings) {
      core.datacenter = datacenterConfig(settings);
    },
    addContainer(container) {
      const inUse = state.vmidInUse(container.vmid);
      if (inUse) throw new Error(inUse);
      if (!state.node(container.node)) throw new Error(`unknown node '${container.node}'`);
      state.containers.push({ ...container });
      state.changed();
    },
    idle: () => core.tasks.idle(),
    async stop() {
      core.samples.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      });
    },
  };
}
