/**
 * The writer's use of a tensor's kept rebuild call (`origin`): which storage family it expects,
 * reading it again with the reader's reducers to see whether it still describes the tensor
 * exactly, and carrying its trailing metadata argument over to a fresh call. Split from
 * `write-pickle-tensor.ts`, which decides what each tensor is pickled as.
 */
import type { ReduceContext } from "../../pickle/decoder.js";
import type { PyGlobal, PyObject, PyValue } from "../../pickle/value.js";
import { globalKey, isPyGlobal, pyKind, pyTuple } from "../../pickle/value.js";
import type { Tensor, TorchHost, TorchValue } from "../model.js";
import { isStorage, isTensor } from "../model.js";
import { torchReducers } from "../rebuild/rebuild.js";

/** Which kind of storage a kept rebuild call expects its persistent id to name. */
export function storageFamily(origin: PyObject<TorchHost>): "typed" | "untyped" | undefined {
  const fn = origin.callable as PyGlobal;
  let name = fn.module === "torch._utils" ? fn.name : undefined;
  if (fn.module === "torch._tensor" && (fn.name === "_rebuild_from_type_v2" || fn.name === "_rebuild_from_type")) {
    const items = pyKind(origin.args) === "tuple" ? (origin.args as { items: TorchValue[] }).items : [];
    const inner = items[0];
    name = isPyGlobal(inner) && inner.module === "torch._utils" ? inner.name : undefined;
  }
  if (name === "_rebuild_tensor_v3") return "untyped";
  if (name === "_rebuild_tensor_v2" || name === "_rebuild_tensor" || name === "_rebuild_qtensor") return "typed";
  return undefined;
}

/**
 * Reads a kept rebuild call again with the reader's own reducers, without side effects (the v3
 * reducer may set an untyped storage's dtype; it is put back).
 */
export function originReader(): (origin: PyObject<TorchHost>) => TorchValue | undefined {
  const registry = torchReducers();
  return (origin) => {
    const fn = origin.callable as PyGlobal;
    const reducer = Object.prototype.hasOwnProperty.call(registry, globalKey(fn)) ? registry[globalKey(fn)] : undefined;
    if (reducer === undefined) return undefined;
    const items = pyKind(origin.args) === "tuple" ? (origin.args as { items: TorchValue[] }).items : [];
    const storages = items.filter(isStorage);
    const before = storages.map((s) => s.dtype);
    try {
      const ctx: ReduceContext<TorchHost> = { callable: fn, via: origin.via, offset: 0 };
      return reducer.call(origin.args, ctx);
    } catch {
      return undefined;
    } finally {
      storages.forEach((s, i) => (s.dtype = before[i]!));
    }
  };
}

/** True when a re-read origin describes exactly the tensor we hold. */
export function sameTensor(r: TorchValue | undefined, t: Tensor): boolean {
  if (!isTensor(r)) return false;
  return (
    r.dtype === t.dtype &&
    sameInts(r.shape, t.shape) &&
    sameInts(r.stride, t.stride) &&
    r.storageOffset === t.storageOffset &&
    r.storage === t.storage &&
    r.device === t.device &&
    r.requiresGrad === t.requiresGrad &&
    r.isParameter === t.isParameter &&
    r.layout === t.layout &&
    sameGlobal(r.subclass, t.subclass) &&
    r.state === t.state &&
    sameQuantization(r, t) &&
    sameSparse(r, t)
  );
}

function sameInts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function sameGlobal(a: PyGlobal | undefined, b: PyGlobal | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.module === b.module && a.name === b.name);
}

function sameQuantization(r: Tensor, t: Tensor): boolean {
  const a = r.quantization;
  const b = t.quantization;
  if (a === undefined || b === undefined) return a === b;
  if (a.scheme !== b.scheme) return false;
  if ("scale" in a && "scale" in b) return Object.is(a.scale, b.scale) && a.zeroPoint === b.zeroPoint;
  if ("scales" in a && "scales" in b) return a.scales === b.scales && a.zeroPoints === b.zeroPoints && a.axis === b.axis;
  return false;
}

function sameSparse(r: Tensor, t: Tensor): boolean {
  const a = r.sparse;
  const b = t.sparse;
  if (a === undefined || b === undefined) return a === b;
  return (
    sameInts(a.size, b.size) && a.values === b.values && a.indices === b.indices && a.compressedIndices === b.compressedIndices &&
    a.plainIndices === b.plainIndices && (a.isCoalesced ?? null) === (b.isCoalesced ?? null)
  );
}

/** A fresh dense call keeps the trailing metadata argument of the call the file had, when it had one. */
export function withOriginExtras(fresh: PyObject<TorchHost>, origin: PyObject<TorchHost> | undefined): PyObject<TorchHost> {
  if (origin === undefined || !isPyGlobal(origin.callable) || !isPyGlobal(fresh.callable)) return fresh;
  if (globalKey(origin.callable) !== globalKey(fresh.callable)) return fresh;
  const name = fresh.callable.name;
  const base = name === "_rebuild_tensor_v2" ? 6 : name === "_rebuild_tensor_v3" ? 7 : undefined;
  const had = pyKind(origin.args) === "tuple" ? (origin.args as { items: TorchValue[] }).items : [];
  if (base === undefined || had.length !== base + 1) return fresh;
  return { ...fresh, args: pyTuple([...(fresh.args as { items: PyValue<TorchHost>[] }).items, had[base]!]) };
}
