// kured through RKE2's deploy controller (step kured): the rendered HelmChart manifest in the first
// server's manifests directory (0600; written only when it differs; RKE2 does not sync these
// files between servers, so one server holds it), then the HelmChart as the API serves it, with
// the rendered spec. RKE2 reports a manifest it cannot apply only in its log, so while waiting
// the step reads rke2-server's log and fails with RKE2's own words instead of timing out.
import { parse } from "yaml";
import { KURED_MANIFEST_PATH } from "../../render/kured.ts";
import { sha256Hex } from "../../ssh/put.ts";
import type { StepFamily } from "../family.ts";
import { type ActContext, type Change, type Observed, unchanged } from "../observed.ts";
import type { ClusterRun } from "./context.ts";
import { rke2Unit } from "./node-facts.ts";
import { KUBECTL } from "./rke2-node.ts";

const FILE_OWNER = "root:root";
/** The deploy controller rescans the directory every few seconds; a helm-controller applies at once. */
const SEEN_TIMEOUT_MS = 180_000;
const POLL_MS = 2_000;
/** When the file was already in place, errors logged this long before the wait are RKE2's answer to it. */
const LOG_LOOKBACK_S = 600;

export class KuredStepError extends Error {
  override readonly name = "KuredStepError";
}

interface Manifest {
  content: string;
  namespace: string;
  name: string;
  spec: Record<string, unknown>;
}

function manifest(run: ClusterRun): Manifest {
  const file = run.files(run.inv.firstServer).find((f) => f.path === KURED_MANIFEST_PATH);
  if (file === undefined) throw new Error(`internal: render made no ${KURED_MANIFEST_PATH} for ${run.inv.firstServer.name}`);
  const doc = parse(file.content) as { metadata: { name: string; namespace: string }; spec: Record<string, unknown> };
  return { content: file.content, namespace: doc.metadata.namespace, name: doc.metadata.name, spec: doc.spec };
}

/** Key order aside, equal JSON values. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

type Seen = "current" | "stale" | "absent" | "no-api";

/** The HelmChart as the first server's API serves it, against the rendered spec (every field starbase sets). */
async function helmChartSeen(run: ClusterRun, wanted: Manifest): Promise<Seen> {
  const command = `${KUBECTL} get helmcharts.helm.cattle.io -n ${wanted.namespace} ${wanted.name} -o json --ignore-not-found`;
  const result = await run.ssh(run.inv.firstServer).exec(command, { description: `read HelmChart ${wanted.namespace}/${wanted.name}` });
  if (result.code !== 0) return "no-api";
  if (result.stdout.trim() === "") return "absent";
  const spec = (JSON.parse(result.stdout) as { spec?: Record<string, unknown> }).spec ?? {};
  const same = Object.entries(wanted.spec).every(([key, value]) => canonical(spec[key]) === canonical(value));
  return same ? "current" : "stale";
}

/** The node's clock, in seconds since the epoch: the log is read from there on. */
async function nodeNow(run: ClusterRun): Promise<number> {
  const result = await run.ssh(run.inv.firstServer).exec("date +%s", { description: "read the node's clock" });
  const now = Number(result.stdout.trim());
  if (result.code !== 0 || !Number.isInteger(now)) throw new KuredStepError(`${run.inv.firstServer.name}: could not read the node's clock (exit ${result.code})`);
  return now;
}

/** rke2-server's complaints about the manifest since `since`: lines that name the file and a failure. */
async function refusals(run: ClusterRun, since: number): Promise<string[]> {
  const first = run.inv.firstServer;
  const result = await run.ssh(first).exec(run.os.unitLog(rke2Unit(first), since), { description: `read the log of ${rke2Unit(first)}` });
  if (result.code !== 0) return [];
  return result.stdout.split("\n").filter((line) => line.includes(KURED_MANIFEST_PATH) && /fail|error|invalid/i.test(line)).map((line) => line.trim());
}

async function waitUntilSeen(run: ClusterRun, wanted: Manifest, since: number, ctx: ActContext): Promise<void> {
  const first = run.inv.firstServer;
  const what = `HelmChart ${wanted.namespace}/${wanted.name}`;
  const started = Date.now();
  for (;;) {
    ctx.signal.throwIfAborted();
    const seen = await helmChartSeen(run, wanted);
    if (seen === "current") return;
    const refused = await refusals(run, since);
    if (refused.length > 0) {
      throw new KuredStepError(`${first.name}: RKE2 refused ${KURED_MANIFEST_PATH}, ${what} is not applied:\n${refused.slice(-5).join("\n")}`);
    }
    const waited = Date.now() - started;
    const state = seen === "no-api" ? "the API does not answer" : seen === "absent" ? "not there yet" : "an older spec";
    if (waited > SEEN_TIMEOUT_MS) {
      throw new KuredStepError(`${first.name}: ${what} not seen by the API after ${Math.round(waited / 1000)} s (${state}); look at the journal of ${rke2Unit(first)} on ${first.name}`);
    }
    ctx.report(`${first.name}: waiting for the API to serve ${what} (${Math.round(waited / 1000)} s): ${state}`);
    await Bun.sleep(POLL_MS);
  }
}

export const kuredFamily: StepFamily<ClusterRun> = {
  kinds: ["kured"],
  timeoutMs: SEEN_TIMEOUT_MS + 60_000,
  async observe(run, _step, ctx): Promise<Observed> {
    const first = run.inv.firstServer;
    const wanted = manifest(run);
    const facts = await run.facts(first, ctx);
    const have = facts.files.get(KURED_MANIFEST_PATH) ?? null;
    const subject = `${first.name} ${KURED_MANIFEST_PATH}`;
    const chart = `HelmChart ${wanted.namespace}/${wanted.name}`;
    let fileChange: Change | undefined;
    if (have === null) fileChange = { op: "+", subject, reason: "kured's HelmChart for RKE2's deploy controller" };
    else if (have.sha256 !== sha256Hex(wanted.content)) fileChange = { op: "~", subject, reason: "differs from the spec" };
    else if (have.mode !== 0o600 || have.owner !== FILE_OWNER) fileChange = { op: "~", subject, field: "mode", from: `${have.mode.toString(8).padStart(4, "0")} ${have.owner}`, to: `0600 ${FILE_OWNER}`, reason: "as render gives it" };
    if (fileChange !== undefined) {
      return {
        changes: [fileChange, { op: fileChange.op, subject: chart, reason: "applied by RKE2 from the file; wait until the API serves it" }],
        async apply(actx) {
          const since = await nodeNow(run);
          await run.ssh(first).put(KURED_MANIFEST_PATH, wanted.content, { mode: 0o600, createParent: true });
          await waitUntilSeen(run, wanted, since, actx);
        },
      };
    }
    const seen = await helmChartSeen(run, wanted);
    const fileSame = unchanged(subject, "as the spec renders it");
    if (seen === "current") return { changes: [fileSame, unchanged(chart, "served by the API with the rendered spec")] };
    return {
      changes: [fileSame, { op: "~", subject: chart, reason: seen === "no-api" ? "the API does not answer: wait for it" : `${seen === "absent" ? "not" : "an older spec"} served by the API yet: wait for it` }],
      async apply(actx) {
        await waitUntilSeen(run, wanted, (await nodeNow(run)) - LOG_LOOKBACK_S, actx);
      },
    };
  },
};
