// What every infra step of one run shares: the inventory, the client, the facts read so far,
// the image wanted and each host's seed ISO (built once per command).

import type { Host, Inventory } from "../../inventory/types.ts";
import type { ProxmoxClient } from "../../proxmox/index.ts";
import type { RenderSecrets } from "../../render/index.ts";
import { type ImageSource, resolveImage } from "./image-source.ts";
import { Once, remembered } from "../memo.ts";
import { Facts } from "./facts.ts";
import { buildSeedImage, type SeedImage } from "./seed-image.ts";

export interface InfraRun {
  inv: Inventory;
  client: ProxmoxClient;
  facts: Facts;
  /** The image file wanted on every node. Its checksum is fetched once per command; a failure is kept, not retried per node. */
  image(): Promise<ImageSource>;
  seed(host: Host): SeedImage;
  /** Runs `work` once per run for all steps asking with the same key (one download to a shared storage). */
  once(key: string, work: () => Promise<void>): Promise<void>;
  /**
   * A run with nothing read from Proxmox yet (after the lock is taken the facts must be read
   * again); the image and the seed ISOs depend only on the spec and are kept.
   */
  refreshed(): InfraRun;
}

export interface InfraRunOptions {
  inv: Inventory;
  client: ProxmoxClient;
  secrets: RenderSecrets;
}

export function createInfraRun(opts: InfraRunOptions): InfraRun {
  let image: Promise<ImageSource> | undefined;
  const seeds = new Map<string, SeedImage>();
  const wanted = {
    image() {
      image ??= resolveImage(opts.inv.spec.image);
      return image;
    },
    seed(host: Host) {
      let seed = seeds.get(host.name);
      if (seed === undefined) {
        seed = buildSeedImage(opts.inv, host, opts.secrets);
        seeds.set(host.name, seed);
      }
      return seed;
    },
  };
  const withNewFacts = (): InfraRun => {
    const onces = new Map<string, Once<void>>();
    return {
      inv: opts.inv,
      client: opts.client,
      facts: new Facts(opts.client),
      ...wanted,
      once: (key, work) => remembered(onces, key, false, work),
      refreshed: withNewFacts,
    };
  };
  return withNewFacts();
}
