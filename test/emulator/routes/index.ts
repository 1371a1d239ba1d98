// The implemented API methods. Paths are schema templates; without a schema they are matched here.
import { permissions } from "./access.ts";
import { clusterStatus, nextId, nodeVms, nodes, resources, version } from "./cluster.ts";
import type { Route } from "./context.ts";
import { clusterOptions } from "./datacenter.ts";
import { agentPing, networkInterfaces } from "./agent.ts";
import { putConfig, postConfig, readConfig, readPending, resize } from "./qemu-config.ts";
import { createVm } from "./qemu-create.ts";
import { poolRoutes } from "./pools.ts";
import { destroyVm } from "./qemu-destroy.ts";
import { currentStatus, powerRoute, startRoute } from "./qemu-power.ts";
import { deleteVolume, listContent, listStorages, storageStatus, volumeAttributes } from "./storage.ts";
import { downloadUrl, upload } from "./storage-files.ts";
import { listTasks, taskIndex, taskLog, taskStatus } from "./tasks.ts";
import { pathComponents } from "../schema.ts";

const VM = "/nodes/{node}/qemu/{vmid}";
const STORAGE = "/nodes/{node}/storage/{storage}";
const CONTENT = `${STORAGE}/content`;

/** Every API method the emulator serves; each must be in pve-schema/endpoints.txt (pve-schema.test.ts). */
export const ROUTES: Route[] = [
  { method: "GET", path: "/version", handler: version },
  { method: "GET", path: "/access/permissions", handler: permissions },
  { method: "GET", path: "/nodes", handler: nodes },
  { method: "GET", path: "/cluster/status", handler: clusterStatus },
  { method: "GET", path: "/cluster/resources", handler: resources },
  { method: "GET", path: "/cluster/nextid", handler: nextId },
  { method: "GET", path: "/cluster/options", handler: clusterOptions },
  { method: "GET", path: "/nodes/{node}/qemu", handler: nodeVms },
  { method: "POST", path: "/nodes/{node}/qemu", handler: createVm },
  { method: "DELETE", path: VM, handler: destroyVm },
  { method: "GET", path: `${VM}/config`, handler: readConfig },
  { method: "GET", path: `${VM}/pending`, handler: readPending },
  { method: "PUT", path: `${VM}/config`, handler: putConfig },
  { method: "POST", path: `${VM}/config`, handler: postConfig },
  { method: "PUT", path: `${VM}/resize`, handler: resize },
  { method: "GET", path: `${VM}/status/current`, handler: currentStatus },
  { method: "POST", path: `${VM}/status/start`, handler: startRoute },
  { method: "POST", path: `${VM}/status/stop`, handler: powerRoute("stop") },
  { method: "POST", path: `${VM}/status/shutdown`, handler: powerRoute("shutdown") },
  { method: "POST", path: `${VM}/status/reboot`, handler: powerRoute("reboot") },
  { method: "GET", path: `${VM}/agent/network-get-interfaces`, handler: networkInterfaces },
  { method: "POST", path: `${VM}/agent/ping`, handler: agentPing },
  { method: "GET", path: "/nodes/{node}/storage", handler: listStorages },
  { method: "GET", path: `${STORAGE}/status`, handler: storageStatus },
  { method: "GET", path: `${STORAGE}/content`, handler: listContent },
  { method: "GET", path: `${STORAGE}/content/{volume}`, handler: volumeAttributes },
  { method: "DELETE", path: `${STORAGE}/content/{volume}`, handler: deleteVolume },
  { method: "POST", path: `${STORAGE}/download-url`, handler: downloadUrl },
  { method: "POST", path: `${STORAGE}/upload`, handler: upload },
  { method: "GET", path: "/nodes/{node}/tasks", handler: listTasks },
  { method: "GET", path: "/nodes/{node}/tasks/{upid}", handler: taskIndex },
  { method: "GET", path: "/nodes/{node}/tasks/{upid}/status", handler: taskStatus },
  { method: "GET", path: "/nodes/{node}/tasks/{upid}/log", handler: taskLog },
  ...poolRoutes,
];

export interface LocalMatch {
  route: Route | undefined;
  template: string;
  pathParams: Record<string, string>;
}

/** Binds the placeholders of a template to path components; undefined when it does not fit. */
function bind(template: string, components: string[]): Record<string, string> | undefined {
  const parts = template.split("/").filter((part) => part !== "");
  if (parts.length !== components.length) return undefined;
  const params: Record<string, string> = {};
  for (const [index, part] of parts.entries()) {
    const placeholder = /^\{(.+)\}$/.exec(part);
    if (placeholder) params[placeholder[1] ?? ""] = components[index] ?? "";
    else if (part !== components[index]) return undefined;
  }
  return params;
}

/** Routing without a schema: the templates above, placeholders matching one path component. */
export function matchLocally(method: string, path: string): LocalMatch | undefined {
  const components = pathComponents(path, (prefix) => (bind(CONTENT, prefix) ? CONTENT : undefined));
  for (const template of new Set(ROUTES.map((route) => route.path))) {
    const pathParams = bind(template, components);
    if (pathParams) return { route: findRoute(method, template), template, pathParams };
  }
  return undefined;
}

export function findRoute(method: string, template: string): Route | undefined {
  return ROUTES.find((route) => route.method === method && route.path === template);
}
