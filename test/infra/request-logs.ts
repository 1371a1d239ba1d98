import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * Every emulator log of this test process is kept here for the contract test (one file per
 * lab). test/preload.ts removes it after the last test: bun's test runner emits no exit event.
 */
export const LOG_DIR = join(tmpdir(), `starbase-infra-request-logs-${process.pid}`);
