import { describe, expect, test } from "bun:test";
import packageJson from "../../package.json" with { type: "json" };
import { commands } from "../../src/cli/commands/index.ts";
import { jsonLines, repo, starbase } from "./run-starbase.ts";

const commandNames = commands.map((c) => c.name);

function gitCommit(): string {
  return Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: repo }).stdout.toString().trim();
}

describe("version", () => {
  test("--version and version print the package version and the git commit", () => {
    const expected = `starbase ${packageJson.version} (commit ${gitCommit()})\n`;
    for (const args of [["--version"], ["version"]]) {
      const run = starbase(args);
      expect(run.rc).toBe(0);
      expect(run.stdout).toBe(expected);
    }
  });

  test("--output json: one version object", () => {
    const run = starbase(["version", "--output", "json"]);
    expect(jsonLines(run.stdout)).toEqual([{ type: "version", version: packageJson.version, commit: gitCommit() }]);
  });
});

describe("help", () => {
  test("help lists every command, on stdout, exit 0", () => {
    expect(commandNames).toEqual(expect.arrayContaining(["validate", "plan", "graph", "render", "init", "version"]));
    const run = starbase(["help"]);
    expect(run.rc).toBe(0);
    for (const name of commandNames) expect(run.stdout).toMatch(new RegExp(`^  ${name}\\b`, "m"));
    expect(run.stdout).toContain("64 usage error");
    expect(starbase(["--help"]).stdout).toBe(run.stdout);
  });

  test("help <command> and <command> --help show the same usage, options and exit codes", () => {
    for (const name of commandNames) {
      const viaHelp = starbase(["help", name]);
      const viaFlag = starbase([name, "--help"]);
      expect(viaHelp.rc).toBe(0);
      expect(viaFlag.rc).toBe(0);
      expect(viaFlag.stdout).toBe(viaHelp.stdout);
      expect(viaHelp.stdout).toStartWith(`Usage: starbase ${name}`);
      expect(viaHelp.stdout).toContain("--output text|json");
    }
    expect(starbase(["help", "plan"]).stdout).toContain("--offline");
    expect(starbase(["help", "graph"]).stdout).toContain("--format text|dot|mermaid|json");
    expect(starbase(["help", "validate"]).stdout).toContain("Exit codes: 0 valid");
  });

  test("help help explains help itself", () => {
    const run = starbase(["help", "help"]);
    expect(run.rc).toBe(0);
    expect(run.stdout).toStartWith("Usage: starbase help [COMMAND]\n");
    expect(run.stdout).toContain("Exit codes: 0 shown, 64 unknown command.");
    expect(starbase(["help", "--help"]).stdout).toBe(run.stdout);
  });

  test("a required option is shown without brackets, and its absence is a usage error", () => {
    expect(starbase(["help", "render"]).stdout).toStartWith("Usage: starbase render FILE --out DIR\n");
    const run = starbase(["render", "x.yaml"]);
    expect(run.rc).toBe(64);
    expect(run.stderr).toContain("render needs --out DIR");
  });

  test("--output json: help as data", () => {
    const [help] = jsonLines(starbase(["help", "render", "--output=json"]).stdout);
    expect(help).toMatchObject({ type: "help", command: "render", usage: "starbase render FILE --out DIR" });
    expect((help!.options as { name: string }[]).map((o) => o.name)).toEqual(["--out", "--output", "--help"]);
  });
});

describe("usage errors exit 64 and say what is wrong", () => {
  const cases: [string[], string][] = [
    [[], "no command given"],
    [["deploy"], 'unknown command "deploy"'],
    [["valdate", "x.yaml"], 'did you mean "validate"?'],
    [["validate"], "validate needs FILE"],
    [["validate", "a.yaml", "b.yaml"], "unexpected argument b.yaml"],
    [["plan", "a.yaml", "--offlin"], "unknown option --offlin"],
    [["graph", "a.yaml", "--format", "svg"], 'option --format must be one of text, dot, mermaid, json, not "svg"'],
    [["render", "a.yaml", "--out"], "option --out needs a value"],
    [["help", "nope"], 'unknown command "nope"'],
  ];
  for (const [args, message] of cases) {
    test(`starbase ${args.join(" ") || "(nothing)"}`, () => {
      const run = starbase(args);
      expect(run.rc).toBe(64);
      expect(run.stdout).toBe("");
      expect(run.stderr).toContain(message);
    });
  }

  test("with --output json the usage error is an event on stdout", () => {
    const run = starbase(["--output", "json", "validate"]);
    expect(run.rc).toBe(64);
    expect(jsonLines(run.stdout)).toEqual([{ type: "error", message: "validate needs FILE" }]);
  });
});
