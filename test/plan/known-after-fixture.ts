// A phase of three fake families run through plan/'s real observe walk and the real engine:
// "make" has work (a VM to create), "look" observes what "make" makes (SSH to that VM) and
// "after" needs "look". Each family records whether it was asked to observe.

import type { StepNode } from "../../src/graph/types.ts";
import { familyRunnables, RETRY } from "../../src/plan/runnables.ts";
import { countSteps, runLive, type RunSink, stepChanges } from "../../src/plan/walk.ts";
import type { StepFamily } from "../../src/steps/family.ts";
import type { Observed } from "../../src/steps/observed.ts";

interface FakeRun {
  observed: string[];
}

const work = (subject: string): Observed => ({ changes: [{ op: "+", subject, reason: "not there yet" }], apply: async () => {} });
const same = (subject: string): Observed => ({ changes: [{ op: "=", subject, reason: "as the spec says" }] });

function family(kind: string, found: (step: StepNode) => Observed, observableBeforeNeeds?: true): StepFamily<FakeRun> {
  return {
    kinds: [kind],
    ...(observableBeforeNeeds && { observableBeforeNeeds }),
    observe: async (run, step) => {
      run.observed.push(step.id);
      return found(step);
    },
  };
}

const sink: RunSink = { message: () => {}, error: () => {}, progress: async () => undefined };

/** `makeHasWork`: whether the "make" step finds something to do. `lookObservableEarly`: the "look" family reads only what exists already. */
export async function fakePlan(makeHasWork: boolean, lookObservableEarly = false) {
  const steps: StepNode[] = [
    { id: "make:a", kind: "make", host: "a", needs: [] },
    { id: "look:a", kind: "look", host: "a", needs: ["make:a"] },
    { id: "after", kind: "after", needs: ["look:a"] },
    { id: "elsewhere", kind: "after", needs: [] },
  ];
  const families = [
    family("make", (s) => (makeHasWork ? work(`VM ${s.host}`) : same(`VM ${s.host}`)), true),
    family("look", (s) => same(`SSH of ${s.host}`), lookObservableEarly ? true : undefined),
    family("after", (s) => same(s.id)),
  ];
  const run: FakeRun = { observed: [] };
  const log = new Map();
  const runnables = familyRunnables(steps, families, run, { mode: "plan", log });
  const summary = await runLive(runnables, { retry: RETRY, stage: "observe" }, sink);
  const changes = stepChanges(runnables, log, summary);
  return { observed: run.observed, steps: changes, counts: countSteps(changes), summary };
}
