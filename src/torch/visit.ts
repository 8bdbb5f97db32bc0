/**
 * A complete walk of a checkpoint's value graph for the writer: containers, inert objects (their
 * callable, args, items and state), dict state, and the insides of host values (a tensor's
 * storage, origin call, quantization and sparse parts; an array's origin and items). Each
 * object is visited once (shared references and cycles are fine) and the walk is iterative, so
 * deep nesting cannot overflow the JS stack.
 */
import type { KeyPath } from "../errors.js";
import type { PyDict, PyObject, PyPersistentId } from "../pickle/value.js";
import { pyKind } from "../pickle/value.js";
import type { NdArray, Storage, Tensor, TorchHost, TorchValue } from "./model.js";
import { isNdArray, isStorage, isTensor } from "./model.js";

/**
 * Called once per value; return false to skip its children. `path()` names how it was reached
 * first (built on demand: paths are kept as parent links, so deep graphs cost linear memory).
 */
export type GraphVisitor = (value: TorchValue, path: () => KeyPath) => boolean | void;

/** A path as a chain of steps back to the root. */
interface PathLink {
  readonly parent: PathLink | undefined;
  readonly steps: readonly (string | number)[];
}

function materialize(link: PathLink | undefined): KeyPath {
  const parts: (readonly (string | number)[])[] = [];
  for (let l = link; l !== undefined; l = l.parent) parts.push(l.steps);
  return parts.reverse().flat();
}

/**
 * Visits `root` and everything reachable from it, depth first in insertion order. Paths use dict
 * keys and indices like `walkTensors`, and "$args", "$state", "$items", "$dictItems",
 * "$setItems", "$kwargs", "$callable", "$pid", "$storage", "$origin", "$quantization",
 * "$sparse", "$view" for the steps inside objects and host values.
 */
export function visitGraph(root: TorchValue, visit: GraphVisitor): void {
  const seen = new Set<object>();
  const stack: { value: TorchValue; link: PathLink | undefined }[] = [{ value: root, link: undefined }];
  while (stack.length > 0) {
    const { value, link } = stack.pop()!;
    if (typeof value === "object" && value !== null) {
      if (seen.has(value)) continue;
      seen.add(value);
    }
    if (visit(value, () => materialize(link)) === false) continue;
    const children = childrenOf(value);
    for (let i = children.length - 1; i >= 0; i--) {
      const [steps, child] = children[i]!;
      stack.push({ value: child, link: { parent: link, steps } });
    }
  }
}

type Child = [(string | number)[], TorchValue];

function childrenOf(value: TorchValue): Child[] {
  if (typeof value !== "object" || value === null) return [];
  if (isTensor(value)) return tensorChildren(value);
  if (isStorage(value)) return storageChildren(value);
  if (isNdArray(value)) return arrayChildren(value);
  switch (pyKind(value)) {
    case "list":
    case "tuple":
    case "set":
    case "frozenset":
      return (value as { items: TorchValue[] }).items.map((v, i): Child => [[i], v]);
    case "dict": {
      const d = value as PyDict<TorchHost>;
      const out: Child[] = [];
      d.entries.forEach(([k, v], i) => {
        const step = typeof k === "string" || typeof k === "number" ? k : i;
        if (typeof k === "object" && k !== null) out.push([["$key", i], k]);
        out.push([[step], v]);
      });
      if (d.state !== undefined) out.push([["$state"], d.state]);
      return out;
    }
    case "object":
      return objectChildren(value as PyObject<TorchHost>);
    case "persid":
      return [[["$pid"], (value as PyPersistentId<TorchHost>).pid]];
    default:
      return [];
  }
}

function objectChildren(o: PyObject<TorchHost>): Child[] {
  const out: Child[] = [[["$callable"], o.callable], [["$args"], o.args]];
  if (o.kwargs !== undefined) out.push([["$kwargs"], o.kwargs]);
  if (o.listItems) o.listItems.forEach((v, i) => out.push([["$items", i], v]));
  if (o.dictItems) {
    o.dictItems.forEach(([k, v], i) => {
      out.push([["$dictItems", i, 0], k]);
      out.push([["$dictItems", i, 1], v]);
    });
  }
  if (o.setItems) o.setItems.forEach((v, i) => out.push([["$setItems", i], v]));
  if (o.state !== undefined) out.push([["$state"], o.state]);
  return out;
}

function tensorChildren(t: Tensor): Child[] {
  const out: Child[] = [];
  if (t.storage !== undefined) out.push([["$storage"], t.storage]);
  const q = t.quantization;
  if (q !== undefined && "scales" in q) {
    out.push([["$quantization", "scales"], q.scales]);
    out.push([["$quantization", "zeroPoints"], q.zeroPoints]);
  }
  const s = t.sparse;
  if (s !== undefined) {
    for (const part of ["indices", "values", "compressedIndices", "plainIndices"] as const) {
      const p = s[part];
      if (p !== undefined) out.push([["$sparse", part], p]);
    }
  }
  if (t.state !== undefined) out.push([["$state"], t.state]);
  if (t.origin !== undefined) out.push([["$origin"], t.origin]);
  return out;
}

function storageChildren(s: Storage): Child[] {
  return s.view === undefined ? [] : [[["$view"], s.view.root]];
}

function arrayChildren(a: NdArray): Child[] {
  const out: Child[] = [];
  if (a.items !== undefined) a.items.forEach((v, i) => out.push([["$items", i], v]));
  if (a.origin !== undefined) out.push([["$origin"], a.origin]);
  return out;
}
