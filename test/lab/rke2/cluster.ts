// A lab for the RKE2 stand-in's tests: two load balancers running real keepalived and haproxy with
// the configs `starbase render` makes for a small spec, RKE2 servers and agents with the rendered
// config.yaml, and the stand-in's units installed straight into /etc/systemd/system (the package
// stand-in installs the same files on transactional-update + reboot; the tests skip that detour).
// kubectl runs on the control namespace (a client on the lab network) with rke2.yaml pointed at
// the VIP, as an operator would use it.

import { buildInventory } from "../../../src/inventory/build.ts";
import type { Host, Inventory } from "../../../src/inventory/types.ts";
import { renderHost } from "../../../src/render/index.ts";
import { RKE2_CONFIG_PATH, RKE2_JOIN_TOKEN_PATH } from "../../../src/render/rke2-config.ts";
import { countGroup, listedGroup } from "../../inventory/fixture.ts";
import { realisticSpec, SECRETS } from "../../render/fixtures.ts";
import type { Lab, LabTopology } from "../lab.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

export const RECORDS = "/var/lib/starbase-lab/rke2-records.jsonl";

export interface Rke2LabOptions {
  /** Third octet of 198.18.X.0/24. */
  subnet: number;
  servers: number;
  agents: number;
  readyAfterMs: number;
  /** Per-host exceptions to readyAfterMs. */
  readyAfterMsOf?: Record<string, number>;
}

export interface RecordLine {
  time: string;
  host: string;
  unit: string;
  event: string;
  [field: string]: unknown;
}

export class Rke2Lab {
  constructor(readonly lab: Lab, readonly inv: Inventory, readonly dir: string) {}

  get vip(): string {
    return this.inv.spec.loadBalancer.vip;
  }

  host(name: string): Host {
    return this.inv.hosts.find((h) => h.name === name) ?? (() => { throw new Error(`no host ${name}`); })();
  }

  async exec(name: string, argv: string[], stdin?: string) {
    return this.lab.exec(name, argv, stdin === undefined ? {} : { stdin });
  }

  async sh(name: string, script: string) {
    return this.lab.exec(name, ["sh", "-c", script]);
  }

  async write(name: string, path: string, content: string, mode = "0644"): Promise<void> {
    const result = await this.exec(name, ["sh", "-c", `mkdir -p "$(dirname '${path}')" && cat > '${path}' && chmod ${mode} '${path}'`], content);
    if (result.code !== 0) throw new Error(`writing ${path} on ${name}: ${result.stderr}`);
  }

  async records(name: string): Promise<RecordLine[]> {
    const result = await this.exec(name, ["sh", "-c", `cat ${RECORDS} 2>/dev/null || true`]);
    return result.stdout.split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as RecordLine);
  }

  async unitProperty(name: string, unit: string, property: string): Promise<string> {
    return (await this.exec(name, ["systemctl", "show", "-p", property, "--value", unit])).stdout.trim();
  }

  /** Waits until pred holds, polling; throws with `what` after timeoutMs. */
  async until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = await probe();
      if (value !== undefined) return value;
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
      await Bun.sleep(500);
    }
  }

  /**
   * Waits until haproxy on every load balancer reports server's last state as `state` in both
   * backends (its health checks: inter 5s, rise 2, fall 3 in the rendered config), so that requests
   * through the VIP no longer reach a stopped server, or reach a started one.
   */
  async haproxySees(server: string, state: "UP" | "DOWN", timeoutMs = 40_000): Promise<void> {
    for (const lb of this.inv.loadBalancers) {
      await this.until(`haproxy on ${lb.name} to see ${server} ${state}`, timeoutMs, async () => {
        const journal = (await this.exec(lb.name, ["journalctl", "-u", "haproxy", "--no-pager", "-o", "cat"])).stdout;
        const last = (backend: string) => {
          const lines = journal.split("\n").filter((l) => l.includes(`Server ${backend}/${server} is `));
          return lines.at(-1)?.includes(`/${server} is ${state}`) ?? state === "UP";
        };
        return last("rke2-api-servers") && last("rke2-registration-servers") ? true : undefined;
      });
    }
  }

  /** kubectl on the control namespace with KUBECONFIG (the rke2.yaml of `from`, pointed at server). */
  async kubectl(kubeconfig: string, args: string[]) {
    return this.lab.control(["kubectl", "--kubeconfig", kubeconfig, "--request-timeout=10s", ...args]);
  }

  /** Copies `from`'s rke2.yaml out of the host with its server URL replaced; returns the file. */
  async kubeconfigFor(from: string, server: string, file: string): Promise<string> {
    const yaml = (await this.exec(from, ["cat", "/etc/rancher/rke2/rke2.yaml"])).stdout;
    if (!yaml.includes("https://127.0.0.1:6443")) throw new Error(`${from}: rke2.yaml has no https://127.0.0.1:6443`);
    const path = join(this.dir, file);
    writeFileSync(path, yaml.replace("https://127.0.0.1:6443", server), { mode: 0o600 });
    return path;
  }

  /** The first server's token, written where the rendered config.yaml's token-file points. */
  async shareJoinToken(from: string, to: string): Promise<void> {
    const token = (await this.exec(from, ["cat", "/var/lib/rancher/rke2/server/node-token"])).stdout.trim();
    await this.write(to, RKE2_JOIN_TOKEN_PATH, `${token}\n`, "0600");
  }
}

/**
 * The lab topology and the starbase inventory for lb01, lb02, server01.. and agent01.. on
 * 198.18.<subnet>.0/24 with the VIP at .10; bring it up with useLab, then prepareRke2Lab.
 */
export function rke2Topology(options: Rke2LabOptions): { topology: LabTopology; inv: Inventory } {
  const net = `198.18.${options.subnet}`;
  const spec = realisticSpec();
  spec.network = { ...spec.network, cidr: `${net}.0/24`, gateway: `${net}.1`, dns: [`${net}.1`] };
  spec.nodes = {
    loadBalancers: listedGroup(200, [{ name: "lb01", ip: `${net}.11` }, { name: "lb02", ip: `${net}.12` }]),
    servers: countGroup(210, options.servers, `${net}.21`),
    ...(options.agents > 0 ? { agents: countGroup(220, options.agents, `${net}.31`) } : {}),
  };
  spec.loadBalancer = { vip: `${net}.10`, vrrp: { mode: "unicast", routerId: 51 } };
  const inv = buildInventory(spec);
  const topology: LabTopology = {
    networks: [{ name: "cluster", cidr: `${net}.0/24`, gateway: `${net}.1` }],
    hosts: inv.hosts.map((h) => ({
      name: h.name,
      nics: [{ network: "cluster", ip: h.ip, interface: spec.network.interface }],
      info: {
        role: h.role,
        ip: h.ip,
        vip: spec.loadBalancer.vip,
        loadBalancers: inv.loadBalancers.map((lb) => lb.ip),
        servers: inv.servers.map((s) => s.ip),
        firstServer: inv.servers[0]!.ip,
        readyAfterMs: options.readyAfterMsOf?.[h.name] ?? options.readyAfterMs,
      },
    })),
    control: [{ network: "cluster" }],
  };
  return { topology, inv };
}

/**
 * On a lab that is up: the rendered keepalived.conf and haproxy.cfg on the load balancers (both
 * daemons running, the VIP answering), the rendered config.yaml and the stand-in's unit on every
 * RKE2 node (RKE2 not started).
 */
export async function prepareRke2Lab(lab: Lab, inv: Inventory, dir: string): Promise<Rke2Lab> {
  const cluster = new Rke2Lab(lab, inv, dir);
  for (const host of inv.hosts) {
    const files = renderHost(inv, host, SECRETS);
    const wanted = host.role === "loadbalancer" ? ["/etc/haproxy/haproxy.cfg", "/etc/keepalived/keepalived.conf"] : [RKE2_CONFIG_PATH];
    for (const path of wanted) {
      const file = files.find((f) => f.path === path) ?? (() => { throw new Error(`${host.name}: render made no ${path}`); })();
      await cluster.write(host.name, path, file.content, path === RKE2_CONFIG_PATH ? "0600" : "0644");
    }
    if (host.role === "loadbalancer") {
      const started = await cluster.exec(host.name, ["systemctl", "enable", "--now", "keepalived.service", "haproxy.service"]);
      if (started.code !== 0) throw new Error(`${host.name}: keepalived/haproxy: ${started.stderr}`);
    } else {
      const unit = host.role === "server" ? "rke2-server.service" : "rke2-agent.service";
      const installed = await cluster.sh(host.name, `cp /opt/starbase-lab/src/rke2/units/${unit} /etc/systemd/system/ && systemctl daemon-reload`);
      if (installed.code !== 0) throw new Error(`${host.name}: installing ${unit}: ${installed.stderr}`);
    }
  }
  const vip = inv.spec.loadBalancer.vip;
  await cluster.until("the VIP on a load balancer", 20_000, async () => {
    // haproxy binds *:6443, so a TCP connect to the VIP succeeds once a load balancer holds it.
    const probe = await lab.control(["timeout", "2", "bash", "-c", `echo > /dev/tcp/${vip}/6443`]);
    return probe.code === 0 ? true : undefined;
  });
  return cluster;
}
