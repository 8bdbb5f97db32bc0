/**
 * Walks of a checkpoint's value graph in the shape the lossless formats write it (tensors and
 * numpy arrays as their records): which objects are met more than once, which tensors may leave
 * their standard rebuild call out, and which storages the value needs, each once. Iterative, so
 * depth is bounded only by memory.
 */
import { ConvertError } from "../errors.js";
import type { PyDict, PyObject } from "../pickle/value.js";
import { pyKind } from "../pickle/value.js";
import type { Storage, Tensor, TorchHost, TorchValue } from "../torch/index.js";
import { isNdArray, isStorage, isTensor } from "../torch/index.js";
import { hasCanonicalOrigin, ndarrayRecord, tensorRecord } from "./torch-records.js";
import { ownKeys, walkEncoded } from "./value-graph-fast.js";

/** Children every walk shares: containers, objects and persistent ids. */
function valueChildren(v: object): TorchValue[] | undefined {
  switch (pyKind(v)) {
    case "list":
    case "tuple":
    case "set":
    case "frozenset":
      return (v as { items: TorchValue[] }).items;
    case "dict": {
      const d = v as PyDict<TorchHost>;
      const out: TorchValue[] = [];
      if (d.type !== undefined) out.push(d.type);
      for (const [k, x] of d.entries) out.push(k, x);
      if (d.state !== undefined) out.push(d.state);
      return out;
    }
    case "object": {
      const o = v as PyObject<TorchHost>;
      const out: TorchValue[] = [o.callable, o.args];
      if (o.kwargs !== undefined) out.push(o.kwargs);
      if (o.state !== undefined) out.push(o.state);
      if (o.listItems !== undefined) out.push(...o.listItems);
      if (o.dictItems !== undefined) for (const [k, x] of o.dictItems) out.push(k, x);
      if (o.setItems !== undefined) out.push(...o.setItems);
      return out;
    }
    case "persid":
      return [(v as { pid: TorchValue }).pid];
    case undefined:
      return undefined;
    default:
      return [];
  }
}

/** Everything a value refers to in the model itself (tensors' origins included). */
function modelChildren(v: object): TorchValue[] {
  const plain = valueChildren(v);
  if (plain !== undefined) return plain;
  if (isTensor(v)) {
    const out: TorchValue[] = [];
    if (v.storage !== undefined) out.push(v.storage);
    if (v.origin !== undefined) out.push(v.origin);
    if (v.state !== undefined) out.push(v.state);
    if (v.subclass !== undefined) out.push(v.subclass);
    const q = v.quantization;
    if (q !== undefined && "scales" in q) out.push(q.scales, q.zeroPoints);
    const s = v.sparse;
    if (s !== undefined) for (const t of [s.indices, s.values, s.compressedIndices, s.plainIndices]) if (t !== undefined) out.push(t);
    return out;
  }
  if (isNdArray(v)) return [...(v.origin === undefined ? [] : [v.origin]), ...(v.items ?? [])];
  if (isStorage(v)) return v.view === undefined ? [] : [v.view.root];
  return [];
}

/** Objects whose identity the formats keep (value-like kinds compare by value). */
const VALUE_KINDS = new Set(["float", "complex", "global", "ext"]);
const tracked = (v: TorchValue): v is TorchValue & object => typeof v === "object" && v !== null && !VALUE_KINDS.has(pyKind(v) ?? "");

/** What a format needs to know before writing. */
export interface GraphFacts {
  /** Objects met more than once in what is written (they get an id; later meetings are references). */
  readonly shared: ReadonlySet<object>;
  /** Tensors whose standard rebuild call is left out (rebuilt on reading). */
  readonly omitOrigin: ReadonlySet<Tensor>;
  /** Every storage reached, view roots before their views. */
  readonly storages: readonly Storage[];
  /** A unique key per storage: its own key, or `key#n` when two storages share one. */
  readonly keyOf: ReadonlyMap<Storage, string>;
  /** `keyOf.get(s)!` for a storage of {@link storages} (what writers ask), without checking that it is one. */
  readonly storageKey: (s: Storage) => string;
  /** Every tensor written, in the order met. */
  readonly tensors: readonly Tensor[];
}

/**
 * Walks `root`: first the whole model (to see which objects are shared), then what a format will
 * write. A tensor leaves its origin out only when the origin is canonical and none of its parts is
 * also reachable elsewhere (dropping it would otherwise lose that sharing).
 * @throws ConvertError `limit-exceeded` past `maxNodes` objects.
 */
export function graphFacts(root: TorchValue, maxNodes = 100_000_000): GraphFacts {
  return withoutOrigins(root, maxNodes) ?? graphFactsTwoWalks(root, maxNodes);
}

/**
 * The facts in one walk when no tensor keeps an origin and there is no numpy array (the reader
 * keeps no origin for torch.save's standard call, so this is the common case): the model walk
 * only decides which origins to leave out, and then there are none. Undefined (the walk stops)
 * at the first tensor with an origin or numpy array.
 */
function withoutOrigins(root: TorchValue, maxNodes: number): GraphFacts | undefined {
  const none = new Set<Tensor>();
  const found = walkEncoded(root, maxNodes, (v) => ((isTensor(v) && v.origin !== undefined) || isNdArray(v) ? undefined : encodedChildren(v, none)));
  if (found === undefined) return undefined;
  const ordered = orderStorages(found.storages);
  const own = ownKeys(ordered, found.seen);
  if (own !== undefined) return { shared: found.shared, omitOrigin: none, storages: ordered, keyOf: own, storageKey: (s) => s.key, tensors: found.tensors };
  const keyOf = uniqueKeys(ordered);
  return { shared: found.shared, omitOrigin: none, storages: ordered, keyOf, storageKey: (s) => keyOf.get(s)!, tensors: found.tensors };
}

/** The model walk (which origins to leave out), then the walk of what is written: {@link graphFacts} for any value (tests compare the two). */
export function graphFactsTwoWalks(root: TorchValue, maxNodes = 100_000_000): GraphFacts {
  const multi = new Set<object>();
  const tensors: Tensor[] = [];
  walk(root, modelChildren, maxNodes, (v) => {
    if (isTensor(v)) tensors.push(v);
  }, multi);
  const omitOrigin = new Set<Tensor>();
  for (const t of tensors) {
    if (t.origin !== undefined && hasCanonicalOrigin(t) && !originPartsShared(t, multi)) omitOrigin.add(t);
  }
  const shared = new Set<object>();
  const storages: Storage[] = [];
  const written: Tensor[] = [];
  const encoded = (v: object): TorchValue[] => encodedChildren(v, omitOrigin);
  walk(root, encoded, maxNodes, (v) => {
    if (isStorage(v)) storages.push(v);
    else if (isTensor(v)) written.push(v);
  }, shared);
  const ordered = orderStorages(storages);
  const keyOf = uniqueKeys(ordered);
  return { shared, omitOrigin, storages: ordered, keyOf, storageKey: (s) => keyOf.get(s)!, tensors: written };
}

/** The values a format writes under `v`, in order (tensors and arrays through their records). */
export function encodedChildren(v: object, omitOrigin: ReadonlySet<Tensor>): TorchValue[] {
  const plain = valueChildren(v);
  if (plain !== undefined) return plain;
  if (isTensor(v)) {
    // A plain tensor's record holds only scalars and fresh lists: nothing to find in it.
    const plainRecord = v.quantization === undefined && v.sparse === undefined && v.subclass === undefined && v.state === undefined &&
      (v.origin === undefined || omitOrigin.has(v));
    if (plainRecord) return v.storage === undefined ? [] : [v.storage];
    const rec = tensorRecord(v, () => "", omitOrigin.has(v));
    return v.storage === undefined ? [rec] : [v.storage, rec];
  }
  if (isNdArray(v)) return [ndarrayRecord(v)];
  if (isStorage(v)) return v.view === undefined ? [] : [v.view.root];
  return [];
}

function walk(root: TorchValue, children: (v: object) => TorchValue[], maxNodes: number, visit: (v: object) => void, multi: Set<object>): void {
  const seen = new Set<object>();
  const stack: TorchValue[] = [root];
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (!tracked(v)) {
      if (typeof v === "object" && v !== null) for (const c of children(v)) stack.push(c);
      continue;
    }
    if (seen.has(v)) {
      multi.add(v);
      continue;
    }
    seen.add(v);
    if (seen.size > maxNodes) throw new ConvertError("limit-exceeded", `the value has more than ${maxNodes} objects`);
    visit(v);
    const cs = children(v);
    for (let i = cs.length - 1; i >= 0; i--) stack.push(cs[i]!);
  }
}

/** True when an identity-bearing part of `t.origin` (other than its storage) is reached twice. */
function originPartsShared(t: Tensor, multi: ReadonlySet<object>): boolean {
  const stack: TorchValue[] = [t.origin!];
  let steps = 0;
  while (stack.length > 0) {
    const v = stack.pop()!;
    if (!tracked(v) || v === t.storage) continue;
    if (multi.has(v) || ++steps > 64) return true;
    stack.push(...modelChildren(v));
  }
  return false;
}

/** Puts every view's root before the view. */
function orderStorages(found: Storage[]): Storage[] {
  // No views (the common case): already in order (the walk meets each storage once).
  if (found.every((s) => s.view === undefined)) return found;
  const out: Storage[] = [];
  const placed = new Set<Storage>();
  const place = (s: Storage, depth: number): void => {
    if (placed.has(s)) return;
    if (s.view !== undefined) {
      if (depth > 8) throw new ConvertError("invalid-data", `storage ${s.key} is a view of a view of ... (more than 8 levels)`);
      place(s.view.root, depth + 1);
    }
    placed.add(s);
    out.push(s);
  };
  for (const s of found) place(s, 0);
  return out;
}

function uniqueKeys(storages: readonly Storage[]): Map<Storage, string> {
  const used = new Set<string>();
  const out = new Map<Storage, string>();
  for (const s of storages) {
    let key = s.key;
    for (let n = 1; used.has(key); n++) key = `${s.key}#${n}`;
    used.add(key);
    out.set(s, key);
  }
  return out;
}
