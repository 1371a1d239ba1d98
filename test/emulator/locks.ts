// flock-like exclusive locks with timeouts: per-VM config locks
// (/var/lock/qemu-server/lock-<vmid>.conf) and per-storage allocation locks.

interface Waiter {
  grant: () => void;
}

export interface LockRequest {
  key: string;
  /** The real timeout in ms; scaled by the emulator's lock scale. */
  timeoutMs: number;
  /** Text of the error when the timeout expires. */
  timeoutMessage: string;
  /** Injected fault: behave as if another process held the lock for the whole timeout. */
  forceTimeout?: boolean;
}

export const vmLockRequest = (vmid: number, timeoutMs: number, forceTimeout = false): LockRequest => ({
  key: `vm:${vmid}`,
  timeoutMs,
  timeoutMessage: `can't lock file '/var/lock/qemu-server/lock-${vmid}.conf' - got timeout`,
  forceTimeout,
});

export class LockManager {
  private readonly holders = new Set<string>();
  private readonly queues = new Map<string, Waiter[]>();

  constructor(private readonly scale: number) {}

  async withLock<T>(request: LockRequest, critical: () => Promise<T> | T): Promise<T> {
    await this.acquire(request);
    try {
      return await critical();
    } finally {
      this.release(request.key);
    }
  }

  private acquire(request: LockRequest): Promise<void> {
    const timeout = request.timeoutMs * this.scale;
    if (request.forceTimeout) return Bun.sleep(timeout).then(() => Promise.reject(new Error(request.timeoutMessage)));
    if (!this.holders.has(request.key)) {
      this.holders.add(request.key);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const queue = this.queues.get(request.key) ?? [];
      this.queues.set(request.key, queue);
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        queue.splice(queue.indexOf(waiter), 1);
        reject(new Error(request.timeoutMessage));
      }, timeout);
      queue.push(waiter);
    });
  }

  private release(key: string): void {
    const next = this.queues.get(key)?.shift();
    if (next) next.grant();
    else this.holders.delete(key);
  }
}
