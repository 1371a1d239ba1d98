// The test side of driver.ts: starts it in the lab's control namespace and sends requests.
import { join } from "node:path";
import type { DriverConfig, DriverRequest, DriverResponse } from "./driver.ts";

type Request = DriverRequest extends infer R ? (R extends { id: number } ? Omit<R, "id"> : never) : never;

/** A JSON-line driver process: requests with an op, responses in driver.ts's DriverResponse shape. */
export interface JsonDriver<R extends { op: string }> {
  call(request: R): Promise<DriverResponse>;
  /** call() that throws on an error response and returns the value. */
  value<T>(request: R): Promise<T>;
  /** Ends the driver by its PID and waits for it. */
  stop(): Promise<void>;
  pid: number;
}

export type Driver = JsonDriver<Request>;

export function startDriver(controlExec: string[], config: DriverConfig): Driver {
  return spawnDriver<Request>([...controlExec, process.execPath, join(import.meta.dir, "driver.ts"), JSON.stringify(config)]);
}

/** Starts argv (a driver script, e.g. in the control namespace) and talks JSON lines with it. */
export function spawnDriver<R extends { op: string }>(argv: string[]): JsonDriver<R> {
  const child = Bun.spawn(argv, {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const pending = new Map<number, (response: DriverResponse) => void>();
  let nextId = 1;
  (async () => {
    let buffered = "";
    const decoder = new TextDecoder();
    for await (const chunk of child.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
        const response = JSON.parse(buffered.slice(0, newline)) as DriverResponse;
        buffered = buffered.slice(newline + 1);
        pending.get(response.id)?.(response);
        pending.delete(response.id);
      }
    }
  })();
  const call = (request: R) =>
    new Promise<DriverResponse>((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      child.stdin.write(`${JSON.stringify({ ...request, id })}\n`);
      child.stdin.flush();
    });
  return {
    pid: child.pid,
    call,
    async value<T>(request: R): Promise<T> {
      const response = await call(request);
      if (!response.ok) throw new Error(`driver ${request.op}: ${response.error.message}`);
      return response.value as T;
    },
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await child.exited;
      clearTimeout(timer);
    },
  };
}
