/** Walking a checkpoint's value graph: every tensor with the key path that reaches it. */
import type { KeyPath } from "../errors.js";
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
  if (isTensor(root)) return [{ path: [], tensor: root }];
  // One frame per container on the current path; `path` holds the keys that lead to the top frame's
  // children and `onPath` its containers, so nothing is copied per container, only per tensor found.
  const path: (string | number)[] = [];
  const onPath = new Set<object>();
  const stack: Frame[] = [];
  if (typeof root !== "object" || root === null) return out;
  const first = frameOf(root, all, false);
  if (first === undefined) return out;
  onPath.add(first.container);
  stack.push(first);
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    let key: string | number;
    let child: TorchValue;
    if (f.seq !== undefined && f.i < f.seq.length) {
      const i = f.i++;
      if (f.dict) {
        const e = (f.seq as [TorchValue, TorchValue][])[i]!;
        const k = e[0];
        if (typeof k !== "string" && !(typeof k === "number" && Number.isInteger(k))) continue;
        key = k as string | number;
        child = e[1];
      } else {
        key = i;
        child = (f.seq as TorchValue[])[i]!;
      }
    } else if (f.tail !== undefined && f.j < f.tail.length) {
      const t = f.tail[f.j++]!;
      key = t[0];
      child = t[1];
    } else {
      stack.pop();
      onPath.delete(f.container);
      if (f.keyed) path.pop();
      continue;
    }
    if (isTensor(child)) {
      const at = path.slice();
      at.push(key);
      out.push({ path: at, tensor: child });
      continue;
    }
    if (typeof child !== "object" || child === null || onPath.has(child)) continue;
    const frame = frameOf(child, all, true);
    if (frame === undefined) continue;
    path.push(key);
    onPath.add(child);
    stack.push(frame);
  }
  return out;
}

/** A container being walked: its items (or dict entries), then any named children ("$state", ...). */
interface Frame {
  readonly container: object;
  /** False for the root, which adds no key to the path. */
  readonly keyed: boolean;
  readonly seq: readonly TorchValue[] | readonly [TorchValue, TorchValue][] | undefined;
  readonly dict: boolean;
  readonly tail: readonly [string, TorchValue][] | undefined;
  i: number;
  j: number;
}

function frameOf(value: object, all: boolean, keyed: boolean): Frame | undefined {
  // The tag alone decides (as pyKind would): other tags and untagged values have no children.
  switch ((value as { kind?: unknown }).kind) {
    case "list":
    case "tuple":
      return { container: value, keyed, seq: (value as { items: TorchValue[] }).items, dict: false, tail: undefined, i: 0, j: 0 };
    case "dict": {
      const d = value as PyDict<TorchHost>;
      const tail: [string, TorchValue][] | undefined = all && d.state !== undefined ? [["$state", d.state]] : undefined;
      return { container: value, keyed, seq: d.entries, dict: true, tail, i: 0, j: 0 };
    }
    case "object": {
      if (!all) return undefined;
      const o = value as PyObject<TorchHost>;
      const tail: [string, TorchValue][] = [["$args", o.args]];
      if (o.listItems) tail.push(["$items", { kind: "list", items: o.listItems }]);
      if (o.dictItems) tail.push(["$dictItems", { kind: "dict", entries: o.dictItems }]);
      if (o.setItems) tail.push(["$setItems", { kind: "list", items: o.setItems }]);
      if (o.state !== undefined) tail.push(["$state", o.state]);
      return { container: value, keyed, seq: undefined, dict: false, tail, i: 0, j: 0 };
    }
    case "set":
    case "frozenset":
      return all ? { container: value, keyed, seq: (value as { items: TorchValue[] }).items, dict: false, tail: undefined, i: 0, j: 0 } : undefined;
    default:
      return undefined;
  }
}
