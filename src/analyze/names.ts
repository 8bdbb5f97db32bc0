/**
 * Naming what a checkpoint holds: the wrapper prefixes (`module.`, `model.`, `_orig_mod.`) that
 * DataParallel, Lightning and torch.compile put before every key, and the parameter each optimizer
 * state entry belongs to.
 */
import type { KeyPath } from "../errors.js";
import type { PyDict } from "../pickle/index.js";
import { dictGet, pyKind } from "../pickle/index.js";
import type { TorchHost, TorchValue } from "../torch/index.js";
import { findParts, isOptimizerState } from "../torch/index.js";
import { isArray } from "./leaves.js";

/** The wrapper prefixes key matching ignores, as DDP/DataParallel, Lightning and torch.compile add them. */
export const WRAPPER_PREFIXES: readonly string[] = ["module.", "model.", "_orig_mod."];

/** `key` without any leading wrapper prefixes (repeatedly: `_orig_mod.module.fc` → `fc`). */
export function stripWrappers(key: string, prefixes: readonly string[] = WRAPPER_PREFIXES): string {
  let k = key;
  for (let changed = true; changed; ) {
    changed = false;
    for (const p of prefixes) {
      if (k.startsWith(p) && k.length > p.length) {
        k = k.slice(p.length);
        changed = true;
      }
    }
  }
  return k;
}

/** The last string element of a path with its wrapper prefixes stripped (the rest unchanged). */
export function normalizePath(path: KeyPath, prefixes: readonly string[] = WRAPPER_PREFIXES): KeyPath {
  return path.map((k) => (typeof k === "string" ? stripWrappers(k, prefixes) : k));
}

/** Names of the buffers `nn.Module.state_dict()` holds beside parameters (batch norm's running stats). */
const BUFFER_SUFFIXES = ["running_mean", "running_var", "num_batches_tracked", "running_min", "running_max", "num_batches"];

/** True for a state_dict key that names a buffer, not a parameter (by name, or an integer/bool dtype). */
export function isBufferName(name: string, dtype?: string): boolean {
  const last = name.slice(name.lastIndexOf(".") + 1);
  if (BUFFER_SUFFIXES.includes(last)) return true;
  return dtype !== undefined && !/^(float|bfloat|complex)/.test(dtype);
}

/** What {@link nameOptimizerState} found out. */
export interface OptimizerNames {
  /** Where the optimizer's state_dict is. */
  readonly path: KeyPath;
  /** State index (the key of `state`) → parameter name; empty when the mapping is ambiguous. */
  readonly names: ReadonlyMap<number, string>;
  /** True when the parameters could not be told apart (the reason is in `note`). */
  readonly ambiguous: boolean;
  /** One sentence for the report. */
  readonly note: string;
}

/** A parameter as the model's state_dict lists it. */
export interface ParamInfo {
  readonly name: string;
  readonly shape: readonly number[];
}

/**
 * Names the entries of an optimizer's `state` by the model parameters they belong to. torch numbers
 * parameters 0, 1, 2 … in `param_groups[*].params` order, which is `model.parameters()` order when
 * the optimizer was built from it, so the i-th id is the i-th parameter of the state_dict beside
 * it (buffers left out). The mapping is kept only when the counts agree and every state tensor has
 * its parameter's shape; otherwise it is reported as ambiguous and nothing is named.
 * `params` overrides the parameters found in the file (a dump's `model_params`, say).
 */
export function nameOptimizerState(root: TorchValue, params?: readonly ParamInfo[]): OptimizerNames | undefined {
  const parts = findParts(root);
  let opt = parts.optimizer;
  if (opt === undefined && isOptimizerState(root)) opt = { path: [], value: root };
  if (opt === undefined || !isOptimizerState(opt.value)) return undefined;
  const optDict = opt.value as PyDict<TorchHost>;
  const ids = paramIds(dictGet(optDict, "param_groups"));
  const found = params ?? modelParams(parts.model?.value);
  const none = (note: string): OptimizerNames => ({ path: opt.path, names: new Map(), ambiguous: true, note });
  if (found === undefined) return none("optimizer state is numbered, not named: the file holds no model state_dict to name it by");
  if (ids === undefined) return none("optimizer param_groups list no parameter ids");
  if (ids.length !== found.length) {
    return none(`optimizer state is not named: the optimizer has ${ids.length} parameters, the model state_dict ${found.length} (frozen or extra parameters make the mapping ambiguous)`);
  }
  const names = new Map<number, string>();
  ids.forEach((id, i) => names.set(id, found[i]!.name));
  const state = dictGet(optDict, "state");
  if (pyKind(state) === "dict") {
    for (const [k, v] of (state as PyDict<TorchHost>).entries) {
      if (typeof k !== "number" || pyKind(v) !== "dict") continue;
      const i = ids.indexOf(k);
      const shape = found[i]?.shape;
      for (const [, t] of (v as PyDict<TorchHost>).entries) {
        if (!isArray(t) || t.shape.length === 0 || shape === undefined) continue;
        if (t.shape.length !== shape.length || t.shape.some((d, j) => d !== shape[j])) {
          return none(`optimizer state is not named: state[${k}] has shape [${t.shape.join(", ")}] but parameter ${found[i]!.name} has [${shape.join(", ")}] (param_groups are not in model order)`);
        }
      }
    }
  }
  return { path: opt.path, names, ambiguous: false, note: `optimizer state named by parameter (${ids.length} parameters in param_groups order)` };
}

/** The parameter ids of every param group, in order; undefined when they are not plain ints. */
function paramIds(groups: TorchValue | undefined): number[] | undefined {
  if (pyKind(groups) !== "list" && pyKind(groups) !== "tuple") return undefined;
  const ids: number[] = [];
  for (const g of (groups as { items: TorchValue[] }).items) {
    if (pyKind(g) !== "dict") return undefined;
    const p = dictGet(g as PyDict<TorchHost>, "params");
    if (pyKind(p) !== "list" && pyKind(p) !== "tuple") return undefined;
    for (const id of (p as { items: TorchValue[] }).items) {
      if (typeof id !== "number") return undefined;
      ids.push(id);
    }
  }
  return ids;
}

/** The parameters of a state_dict in order, buffers left out. */
export function modelParams(sd: TorchValue | undefined): ParamInfo[] | undefined {
  if (pyKind(sd) !== "dict") return undefined;
  const out: ParamInfo[] = [];
  for (const [k, v] of (sd as PyDict<TorchHost>).entries) {
    if (typeof k !== "string" || !isArray(v)) continue;
    if (isBufferName(k, v.dtype)) continue;
    out.push({ name: k, shape: v.shape });
  }
  return out.length > 0 ? out : undefined;
}

/** The parameter and state slot a path names, when it is `<optimizer>.state[i].<slot>` and i is named. */
export function optimizerSlot(path: KeyPath, names: OptimizerNames | undefined): { param: string; slot: string } | undefined {
  if (names === undefined || names.ambiguous) return undefined;
  const base = names.path.length;
  if (path.length !== base + 3 || path[base] !== "state") return undefined;
  for (let i = 0; i < base; i++) if (path[i] !== names.path[i]) return undefined;
  const id = path[base + 1];
  const slot = path[base + 2];
  if (typeof id !== "number" || typeof slot !== "string") return undefined;
  const param = names.names.get(id);
  return param === undefined ? undefined : { param, slot };
}
