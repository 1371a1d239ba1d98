// /etc/starbase-lab/host.json, written by the lab for every host (test/lab/README.md).

import { readFileSync } from "node:fs";
import { HOST_FILE, rooted } from "./paths.ts";

export interface LabHost {
  name: string;
  role: "loadbalancer" | "server" | "agent" | "other";
  ip: string;
  vip: string;
  loadBalancers: string[];
  servers: string[];
  firstServer: string;
  /** A node turns Ready this long after its unit started. */
  readyAfterMs: number;
}

export function loadHost(): LabHost {
  const raw = JSON.parse(readFileSync(rooted(HOST_FILE), "utf8")) as Partial<LabHost>;
  for (const key of ["name", "ip", "vip"] as const) {
    if (typeof raw[key] !== "string") throw new Error(`${HOST_FILE}: ${key} is missing`);
  }
  return {
    name: raw.name!,
    role: raw.role ?? "other",
    ip: raw.ip!,
    vip: raw.vip!,
    loadBalancers: raw.loadBalancers ?? [],
    servers: raw.servers ?? [],
    firstServer: raw.firstServer ?? "",
    readyAfterMs: raw.readyAfterMs ?? 0,
  };
}
