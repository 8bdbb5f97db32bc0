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
import type { NdArray, Tensor, TorchHost, TorchValue } from "./model.js";
import { isNdArray, isStorage, isTensor } from "./model.js";

/**
 * Called once per value; return false to skip its children. `path()` names how it was reached
 * first (built on demand: paths are kept as parent links, so deep graphs cost linear memory).
 */
export type GraphVisitor = (value: TorchValue, path: () => KeyPath) => boolean | void;

/** One step (a dict key, an index) or several ("$dictItems", i, 0). */
type Steps = string | number | readonly (string | number)[];

/** A path as a chain of steps back to the root. */
interface PathLink {
  readonly parent: PathLink | undefined;
  readonly steps: Steps;
}

function materialize(parent: PathLink | undefined, steps: Steps | undefined): KeyPath {
  const parts: Steps[] = [];
  if (steps !== undefined) parts.push(steps);
  for (let l = parent; l !== undefined; l = l.parent) parts.push(l.steps);
  const out: (string | number)[] = [];
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i]!;
    if (typeof p === "object") out.push(...p);
    else out.push(p);
  }
  return out;
}

/**
 * Visits `root` and everything reachable from it, depth first in insertion order. Paths use dict
 * keys and indices like `walkTensors`, and "$args", "$state", "$items", "$dictItems",
 * "$setItems", "$kwargs", "$callable", "$pid", "$storage", "$origin", "$quantization",
 * "$sparse", "$view" for the steps inside objects and host values. `path` is valid during the
 * call to `visit` only (it reads the walk's current position).
 *
 * The stack is three parallel arrays (value, parent link, step), and a link object is made only
 * for values that have children: a walk over a big state_dict allocates little per value.
 */
export function visitGraph(root: TorchValue, visit: GraphVisitor, options: VisitOptions = {}): void {
  const revisit = options.revisitTensors === true;
  const seen = new Set<object>();
  const values: TorchValue[] = [root];
  const parents: (PathLink | undefined)[] = [undefined];
  const stepsOf: (Steps | undefined)[] = [undefined];
  let curParent: PathLink | undefined;
  let curSteps: Steps | undefined;
  const path = (): KeyPath => materialize(curParent, curSteps);
  while (values.length > 0) {
    const value = values.pop()!;
    curParent = parents.pop();
    curSteps = stepsOf.pop();
    if (typeof value !== "object" || value === null) {
      visit(value, path);
      continue;
    }
    if (!(revisit && isLeafHost(value))) {
      if (seen.has(value)) continue;
      seen.add(value);
    }
    if (visit(value, path) === false) continue;
    const start = values.length;
    let link: PathLink | undefined;
    const add = (steps: Steps, child: TorchValue): void => {
      link ??= curSteps === undefined ? curParent : { parent: curParent, steps: curSteps };
      values.push(child);
      parents.push(link);
      stepsOf.push(steps);
    };
    pushChildren(value, add);
    // Children were pushed first to last; the stack pops from the end, so reverse them.
    reverseFrom(values, start);
    reverseFrom(parents, start);
    reverseFrom(stepsOf, start);
  }
}

/** Options of {@link visitGraph}. */
export interface VisitOptions {
  /**
   * Tensors and storages without a view are not remembered as seen: one shared by several
   * references is visited once per reference, so the visitor must not mind (it collects into a
   * set, or checks idempotently). Saves a set entry per tensor and storage, which is most of the
   * walk's cost on a checkpoint of many small tensors. Cycles through other objects are still cut.
   */
  readonly revisitTensors?: boolean;
}

/** A tensor, or a storage that is no view (whose walk cannot come back to it). */
function isLeafHost(value: object): boolean {
  return isTensor(value) || (isStorage(value) && value.view === undefined);
}

function reverseFrom<T>(a: T[], start: number): void {
  for (let i = start, j = a.length - 1; i < j; i++, j--) {
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
}

type Add = (steps: Steps, child: TorchValue) => void;

const CALLABLE = ["$callable"] as const;
const ARGS = ["$args"] as const;
const KWARGS = ["$kwargs"] as const;
const STATE = ["$state"] as const;
const PID = ["$pid"] as const;
const STORAGE = ["$storage"] as const;
const ORIGIN = ["$origin"] as const;
const VIEW = ["$view"] as const;

function pushChildren(value: object, add: Add): void {
  if (isTensor(value)) return tensorChildren(value, add);
  if (isStorage(value)) {
    if (value.view !== undefined) add(VIEW, value.view.root);
    return;
  }
  if (isNdArray(value)) return arrayChildren(value, add);
  switch (pyKind(value as TorchValue)) {
    case "list":
    case "tuple":
    case "set":
    case "frozenset": {
      const items = (value as { items: TorchValue[] }).items;
      for (let i = 0; i < items.length; i++) add(i, items[i]!);
      return;
    }
    case "dict": {
      const d = value as PyDict<TorchHost>;
      const entries = d.entries;
      for (let i = 0; i < entries.length; i++) {
        const [k, v] = entries[i]!;
        if (typeof k === "string" || typeof k === "number") add(k, v);
        else {
          if (typeof k === "object" && k !== null) add(["$key", i], k);
          add(i, v);
        }
      }
      if (d.state !== undefined) add(STATE, d.state);
      return;
    }
    case "object":
      return objectChildren(value as PyObject<TorchHost>, add);
    case "persid":
      return add(PID, (value as PyPersistentId<TorchHost>).pid);
    default:
      return;
  }
}

function objectChildren(o: PyObject<TorchHost>, add: Add): void {
  add(CALLABLE, o.callable);
  add(ARGS, o.args);
  if (o.kwargs !== undefined) add(KWARGS, o.kwargs);
  if (o.listItems) o.listItems.forEach((v, i) => add(["$items", i], v));
  if (o.dictItems) {
    o.dictItems.forEach(([k, v], i) => {
      add(["$dictItems", i, 0], k);
      add(["$dictItems", i, 1], v);
    });
  }
  if (o.setItems) o.setItems.forEach((v, i) => add(["$setItems", i], v));
  if (o.state !== undefined) add(STATE, o.state);
}

function tensorChildren(t: Tensor, add: Add): void {
  if (t.storage !== undefined) add(STORAGE, t.storage);
  const q = t.quantization;
  if (q !== undefined && "scales" in q) {
    add(["$quantization", "scales"], q.scales);
    add(["$quantization", "zeroPoints"], q.zeroPoints);
  }
  const s = t.sparse;
  if (s !== undefined) {
    for (const part of ["indices", "values", "compressedIndices", "plainIndices"] as const) {
      const p = s[part];
      if (p !== undefined) add(["$sparse", part], p);
    }
  }
  if (t.state !== undefined) add(STATE, t.state);
  if (t.origin !== undefined) add(ORIGIN, t.origin);
}

function arrayChildren(a: NdArray, add: Add): void {
  if (a.items !== undefined) a.items.forEach((v, i) => add(["$items", i], v));
  if (a.origin !== undefined) add(ORIGIN, a.origin);
}
