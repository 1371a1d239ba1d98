// Loaded before every test file (bunfig.toml): hooks here run once for the whole run.
import { afterAll } from "bun:test";
import { rmSync } from "node:fs";
import { LOG_DIR } from "./infra/request-logs.ts";

afterAll(() => rmSync(LOG_DIR, { recursive: true, force: true }));
