// Semantic rules run on a document that failed the schema in parts, so that one run reports
// schema and semantic problems together. Each rule names the values it reads; it is skipped
// when one of them, or a mapping or list on the way to it, failed the schema (the rule could
// not trust or even reach it). Problems strictly inside a value a rule reads whole are not
// a reason to skip: such a rule lists the values inside it it needs (`"*"` for any key or index).
import type { SpecIssue, SpecPath } from "./types.ts";

/** A path in cluster.yaml; `"*"` stands for any one key or index. */
export type InputPattern = readonly (string | number)[];

export interface Rule<Context> {
  /** Every value the rule reads. */
  inputs: readonly InputPattern[];
  check(context: Context): SpecIssue[];
}

/** Whether `broken` is the input itself or a mapping or list that holds it. */
function breaks(broken: SpecPath, input: InputPattern): boolean {
  return broken.length <= input.length && broken.every((segment, i) => input[i] === "*" || input[i] === segment);
}

/** Whether any of the inputs failed the schema (is, or lies inside, a broken path). */
export function readsBroken(inputs: readonly InputPattern[], broken: readonly SpecPath[]): boolean {
  return inputs.some((input) => broken.some((path) => breaks(path, input)));
}

/** The issues of every rule whose inputs are sound, in rule order. */
export function runRules<Context>(rules: readonly Rule<Context>[], context: Context, broken: readonly SpecPath[]): SpecIssue[] {
  return rules.filter((rule) => !readsBroken(rule.inputs, broken)).flatMap((rule) => rule.check(context));
}
