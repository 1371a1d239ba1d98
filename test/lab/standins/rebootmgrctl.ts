// rebootmgrctl stand-in (rebootmgr 3.x). Keeps the configuration where the real CLI writes it
// (/etc/rebootmgr/rebootmgr.conf.d/50-strategy.conf and 50-maintenance-window.conf, INI section
// [rebootmgr]); the daemon is the lab's idle rebootmgr.service. `reboot` reboots at once when the
// strategy allows it now (instantly, `reboot now`, no window, or inside today's window); otherwise
// the request waits and `status` says so. No daemon ever acts on a waiting request later.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const CONF_DIR = "/etc/rebootmgr/rebootmgr.conf.d";
const REQUEST = "/run/starbase-lab/rebootmgr-request";
const STRATEGIES = ["best-effort", "maint-window", "instantly", "off", "on"];
/** The shipped default (etc/rebootmgr.conf). */
const DEFAULTS = { strategy: "best-effort", "window-start": "03:30", "window-duration": "1h30m" };

function setting(key: keyof typeof DEFAULTS): string {
  for (const file of ["/etc/rebootmgr/rebootmgr.conf", ...(existsSync(CONF_DIR) ? [join(CONF_DIR, "50-strategy.conf"), join(CONF_DIR, "50-maintenance-window.conf")] : [])].reverse()) {
    if (!existsSync(file)) continue;
    const match = new RegExp(`^${key}=(.*)$`, "m").exec(readFileSync(file, "utf8"));
    if (match) return match[1]!.trim();
  }
  return DEFAULTS[key];
}

function write(file: string, lines: string[]): void {
  mkdirSync(CONF_DIR, { recursive: true });
  writeFileSync(join(CONF_DIR, file), `[rebootmgr]\n${lines.join("\n")}\n`);
}

/** Minutes of "[XXh][YYm]", or undefined. */
function durationMinutes(text: string): number | undefined {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?$/.exec(text);
  if (match === null || text === "") return undefined;
  return Number(match[1] ?? 0) * 60 + Number(match[2] ?? 0);
}

/** Whether now (UTC, the hosts' zone) is inside a daily "HH:MM" window; weekday forms count as outside. */
function insideWindow(start: string, duration: string, now = new Date()): boolean {
  const match = /^(\d{1,2}):(\d{2})$/.exec(start);
  const minutes = durationMinutes(duration);
  if (match === null || minutes === undefined) return false;
  const begin = Number(match[1]) * 60 + Number(match[2]);
  const current = now.getUTCHours() * 60 + now.getUTCMinutes();
  return (current - begin + 1440) % 1440 < minutes;
}

function systemctl(args: string[]): number {
  return Bun.spawnSync(["systemctl", ...args], { stdio: ["ignore", "inherit", "inherit"] }).exitCode;
}

export function rebootmgrctl(argv: string[]): number {
  const [command = "", ...args] = argv;
  switch (command) {
    case "is-active": {
      const active = Bun.spawnSync(["systemctl", "is-active", "--quiet", "rebootmgr.service"]).exitCode === 0;
      if (!args.includes("--quiet") && !args.includes("-q")) console.log(active ? "RebootMgr is running" : "RebootMgr is not running");
      return active ? 0 : 1;
    }
    case "set-strategy": {
      const strategy = args[0] ?? "";
      if (!STRATEGIES.includes(strategy)) {
        console.error(`Unknown strategy '${strategy}' (one of ${STRATEGIES.join(", ")})`);
        return 1;
      }
      write("50-strategy.conf", [`strategy=${strategy}`]);
      return 0;
    }
    case "get-strategy":
      console.log(`Reboot strategy: ${setting("strategy")}`);
      return 0;
    case "set-window": {
      const [start, duration] = args;
      if (start === undefined || duration === undefined || durationMinutes(duration) === undefined) {
        console.error("Usage: rebootmgrctl set-window <time> <duration> (duration as [XXh][YYm])");
        return 1;
      }
      write("50-maintenance-window.conf", [`window-start=${start}`, `window-duration=${duration}`]);
      return 0;
    }
    case "get-window":
      console.log(`Maintenance window is set to ${setting("window-start")}, lasting ${setting("window-duration")}.`);
      return 0;
    case "reboot":
    case "soft-reboot": {
      const strategy = setting("strategy");
      if (strategy === "off") {
        console.log("Reboot strategy is off: the request is ignored.");
        return 0;
      }
      const now = args[0] === "now" || strategy === "instantly" || insideWindow(setting("window-start"), setting("window-duration"));
      if (now) return systemctl([command]);
      mkdirSync("/run/starbase-lab", { recursive: true });
      writeFileSync(REQUEST, `${command}\n`);
      return 0;
    }
    case "cancel":
      rmSync(REQUEST, { force: true });
      return 0;
    case "status": {
      const waiting = existsSync(REQUEST);
      if (args.includes("--quiet") || args.includes("-q")) return waiting ? 2 : 0;
      console.log(waiting ? "Status: Reboot requested, waiting for maintenance window" : "Status: No reboot requested");
      if (args.includes("--full")) {
        console.log(`Reboot strategy: ${setting("strategy")}`);
        console.log(`Maintenance window: ${setting("window-start")} lasting ${setting("window-duration")}`);
      }
      return 0;
    }
    default:
      console.error(`rebootmgrctl: '${command}' is not modelled by the lab stand-in`);
      return 1;
  }
}
