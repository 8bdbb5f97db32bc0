/**
 * The state_dict shapes of torch's optimizers, LR schedulers and GradScaler, recognized in plain
 * JSON so the import gives back what `load_state_dict` needs. `json.dump` turns an optimizer's
 * int state keys into strings, and its `params`/`betas` into lists; read back naively, the state
 * keys stay strings (torch then silently drops every moment on load), `params` becomes a tensor and
 * `betas` a float32 tensor. The plan made here says, per parsed node, what it must become instead.
 */
import type { ParsedJson } from "./plain-json-read.js";
import { BOOL, INT } from "./plain-json-read.js";

/** A list: of any items, or a run of numbers and bools. */
type Arr = Extract<ParsedJson, { t: "arr" } | { t: "nums" }>;
type Obj = Extract<ParsedJson, { t: "obj" }>;

/** What the import does differently for recognized nodes. */
export interface StateDictPlan {
  /** Lists that stay lists of numbers (never tensors): `params`, `base_lrs`, scheduler lists. */
  readonly keepList: Set<Arr>;
  /** Lists that become tuples of numbers: `betas`, `etas`, `step_sizes`. */
  readonly asTuple: Set<Arr>;
  /** Objects whose decimal keys become ints: an optimizer's `state`. */
  readonly intKeys: Set<Obj>;
  /** Objects that become `collections.Counter`s with int keys: MultiStepLR's `milestones`. */
  readonly counter: Set<Obj>;
  /** What was recognized and changed, one line each, for the user. */
  readonly notes: string[];
}

/** Optimizer state keys that hold a list of tensors (LBFGS's history), not one tensor. */
const TENSOR_LIST_KEYS = new Set(["old_dirs", "old_stps", "ro", "al"]);

/** Per-parameter state keys → the optimizers that keep them (for the note). */
const OPTIMIZER_BY_STATE: readonly [readonly string[], string][] = [
  [["old_dirs"], "LBFGS"],
  [["mu_product"], "NAdam"],
  [["exp_avg", "exp_avg_sq", "max_exp_avg_sq"], "Adam/AdamW (amsgrad)"],
  [["exp_avg", "exp_inf"], "Adamax"],
  [["exp_avg", "exp_avg_sq"], "Adam/AdamW/RAdam"],
  [["square_avg", "acc_delta"], "Adadelta"],
  [["ax", "eta", "mu"], "ASGD"],
  [["prev", "step_size"], "Rprop"],
  [["square_avg"], "RMSprop"],
  [["sum"], "Adagrad"],
  [["momentum_buffer"], "SGD"],
];

const get = (o: Obj, key: string): ParsedJson | undefined => {
  for (const [k, v] of o.entries) if (k === key) return v;
  return undefined;
};
const isObj = (v: ParsedJson | undefined): v is Obj => v !== null && typeof v === "object" && v.t === "obj";
const isArr = (v: ParsedJson | undefined): v is Arr => v !== null && typeof v === "object" && (v.t === "arr" || v.t === "nums");
const isNum = (v: ParsedJson | undefined): boolean => v !== null && typeof v === "object" && v.t === "num";
const isIntNum = (v: ParsedJson | undefined): boolean => isNum(v) && /^-?\d+$/.test((v as { text: string }).text);
const length = (a: Arr): number => (a.t === "nums" ? a.run.values.length : a.items.length);
/** Every item a number (no bool). */
const numbers = (a: Arr): boolean => (a.t === "nums" ? a.run.kinds.every((k) => k !== BOOL) : a.items.every(isNum));
/** Every item an int (spelled without `.` or exponent). */
const ints = (a: Arr): boolean => (a.t === "nums" ? a.run.kinds.every((k) => k === INT) : a.items.every(isIntNum));
/** The objects of a list (a run holds none). */
const items = (a: Arr): readonly ParsedJson[] => (a.t === "nums" ? [] : a.items);
const DECIMAL = /^(0|-?[1-9]\d{0,15})$/;

/** Renders a key path for notes: `optimizer.state`, or `(root)`. */
const where = (path: readonly string[]): string => (path.length === 0 ? "(root)" : path.join("."));

/** An optimizer state_dict: `state` (an object) and `param_groups` (objects, each with int `params`). */
function isOptimizer(o: Obj): boolean {
  const state = get(o, "state");
  const groups = get(o, "param_groups");
  return isObj(state) && isArr(groups) && groups.t === "arr" && groups.items.length > 0 &&
    groups.items.every((g) => isObj(g) && isArr(get(g, "params")) && ints(get(g, "params") as Arr));
}

/** An LR scheduler state_dict: `last_epoch` and `base_lrs` (or ReduceLROnPlateau's `min_lrs` and `num_bad_epochs`). */
function isScheduler(o: Obj): boolean {
  if (isIntNum(get(o, "last_epoch")) && isArr(get(o, "base_lrs"))) return true;
  return isArr(get(o, "min_lrs")) && isNum(get(o, "num_bad_epochs"));
}

/** A GradScaler state_dict. */
function isScaler(o: Obj): boolean {
  return ["scale", "growth_factor", "backoff_factor", "growth_interval"].every((k) => isNum(get(o, k)));
}

function planOptimizer(o: Obj, path: readonly string[], plan: StateDictPlan): void {
  const state = get(o, "state") as Obj;
  const groups = get(o, "param_groups") as Extract<ParsedJson, { t: "arr" }>;
  const changed: string[] = [];
  if (state.entries.length > 0 && state.entries.every(([k]) => DECIMAL.test(k))) {
    plan.intKeys.add(state);
    changed.push("state keys → ints");
  }
  const tuples = new Set<string>();
  let params = 0;
  for (const g of groups.items as Obj[]) {
    for (const [k, v] of g.entries) {
      if (!isArr(v)) continue;
      if (k === "params") {
        plan.keepList.add(v);
        params += length(v);
      } else if (numbers(v)) {
        plan.asTuple.add(v);
        tuples.add(k);
      }
    }
  }
  changed.push("params → int lists");
  if (tuples.size > 0) changed.push(`${[...tuples].join(", ")} → tuples`);
  const stateKeys = new Set<string>();
  for (const [, s] of state.entries) {
    if (!isObj(s)) continue;
    for (const [k, v] of s.entries) {
      stateKeys.add(k);
      if (TENSOR_LIST_KEYS.has(k) && isArr(v)) plan.keepList.add(v);
    }
  }
  const kind = OPTIMIZER_BY_STATE.find(([keys]) => keys.every((k) => stateKeys.has(k)))?.[1];
  const steps = stateKeys.has("step") ? "; step counts stay numbers (load_state_dict makes them tensors)" : "";
  plan.notes.push(
    `${where(path)}: optimizer state_dict${kind === undefined ? "" : ` (${kind}-like)`}, ${params} params in ${groups.items.length} group(s): ` +
      `${changed.join(", ")}; per-parameter lists → tensors${steps}`,
  );
}

function planScheduler(o: Obj, path: readonly string[], plan: StateDictPlan): void {
  const lists: string[] = [];
  for (const [k, v] of o.entries) {
    if (isArr(v)) {
      plan.keepList.add(v);
      lists.push(k);
    } else if (k === "milestones" && isObj(v) && v.entries.every(([mk, mv]) => DECIMAL.test(mk) && isIntNum(mv))) {
      plan.counter.add(v);
      lists.push("milestones (collections.Counter with int keys)");
    }
  }
  plan.notes.push(`${where(path)}: LR scheduler state_dict: ${lists.length > 0 ? `${lists.join(", ")} kept as lists, not tensors` : "nothing to change"}`);
}

/**
 * Finds optimizer, scheduler and GradScaler state_dicts anywhere in a parsed document (iteratively)
 * and plans what their parts become.
 */
export function planStateDicts(root: ParsedJson): StateDictPlan {
  const plan: StateDictPlan = { keepList: new Set(), asTuple: new Set(), intKeys: new Set(), counter: new Set(), notes: [] };
  const stack: { node: ParsedJson; path: string[] }[] = [{ node: root, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    if (isArr(node)) {
      const list = items(node);
      for (let i = list.length - 1; i >= 0; i--) {
        const x = list[i]!;
        if (isObj(x) || isArr(x)) stack.push({ node: x, path: [...path, String(i)] });
      }
      continue;
    }
    if (!isObj(node)) continue;
    if (isOptimizer(node)) {
      planOptimizer(node, path, plan);
      continue;
    }
    if (isScheduler(node)) {
      planScheduler(node, path, plan);
      continue;
    }
    if (isScaler(node)) {
      plan.notes.push(`${where(path)}: GradScaler state_dict (scale, growth factors and tracker as numbers: nothing to change)`);
      continue;
    }
    for (let i = node.entries.length - 1; i >= 0; i--) {
      const [k, x] = node.entries[i]!;
      if (isObj(x) || isArr(x)) stack.push({ node: x, path: [...path, k] });
    }
  }
  return plan;
}
