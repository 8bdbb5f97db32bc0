/** Walking a checkpoint's value graph: every tensor with the key path that reaches it. */
import type { KeyPath } from "../errors.js";
import { pyKind } from "../pickle/value.js";
import type { PyDict, PyObject } from "../pickle/value.js";
import type { Tensor, TorchHost, TorchValue } from "./model.js";
import { isTensor } from "./model.js";

export interface TensorEntry {
  readonly path: KeyPath;
  readonly tensor: Tensor;
}

export interface WalkOptions {
  /**
   * "containers" (default) follows dicts (str and int keys), lists and tuples only — the same
   * tensors `torchsave tensors` lists and torch's reference tool prints. "all" also enters inert
   * objects (their args, items and BUILD state, e.g. a whole pickled nn.Module) and dict state,
   * naming those steps "$args", "$state", "$items", "$dictItems", "$setItems" in the path.
   */
  readonly into?: "containers" | "all";
}

/**
 * Every tensor reachable from `root`, depth first in insertion order, with its path. A tensor
 * reachable twice is listed twice (as torch's walk does); cycles are cut (a container already on
 * the current path is not entered again). Iterative: deep nesting cannot overflow the JS stack.
 */
export function walkTensors(root: TorchValue, options: WalkOptions = {}): TensorEntry[] {
  const all = options.into === "all";
  const out: TensorEntry[] = [];
  // Each frame: a value, its path, and the set of containers on the path (shared, copy-on-push).
  type Frame = { value: TorchValue; path: (string | number)[]; ancestors: ReadonlySet<object> };
  const stack: Frame[] = [{ value: root, path: [], ancestors: new Set() }];
  while (stack.length > 0) {
    const { value, path, ancestors } = stack.pop()!;
    if (isTensor(value)) {
      out.push({ path, tensor: value });
      continue;
    }
    if (typeof value !== "object" || value === null || ancestors.has(value)) continue;
    const children = childrenOf(value, all);
    if (children.length === 0) continue;
    const inner = new Set(ancestors).add(value);
    for (let i = children.length - 1; i >= 0; i--) {
      const [key, child] = children[i]!;
      stack.push({ value: child, path: key === undefined ? path : [...path, ...key], ancestors: inner });
    }
  }
  return out;
}

type Child = [(string | number)[] | undefined, TorchValue];

function childrenOf(value: object, all: boolean): Child[] {
  switch (pyKind(value)) {
    case "list":
    case "tuple":
      return (value as { items: TorchValue[] }).items.map((v, i): Child => [[i], v]);
    case "dict": {
      const d = value as PyDict<TorchHost>;
      const out: Child[] = [];
      for (const [k, v] of d.entries) {
        if (typeof k === "string" || (typeof k === "number" && Number.isInteger(k))) out.push([[k], v]);
      }
      if (all && d.state !== undefined) out.push([["$state"], d.state]);
      return out;
    }
    case "object": {
      if (!all) return [];
      const o = value as PyObject<TorchHost>;
      const out: Child[] = [[["$args"], o.args]];
      if (o.listItems) out.push([["$items"], { kind: "list", items: o.listItems }]);
      if (o.dictItems) out.push([["$dictItems"], { kind: "dict", entries: o.dictItems }]);
      if (o.setItems) out.push([["$setItems"], { kind: "list", items: o.setItems }]);
      if (o.state !== undefined) out.push([["$state"], o.state]);
      return out;
    }
    case "set":
    case "frozenset":
      return all ? (value as { items: TorchValue[] }).items.map((v, i): Child => [[i], v]) : [];
    default:
      return [];
  }
}
