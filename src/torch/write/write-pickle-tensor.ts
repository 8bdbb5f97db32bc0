/**
 * How tensors, storages and numpy arrays are pickled: the `reduceHost` and `persistentId` hooks the
 * writer gives `encodePickle`, producing what `torch.save` produces (`Tensor._reduce_ex_internal`,
 * `Parameter.__reduce_ex__`, `torch/serialization.py` `persistent_id`):
 *
 * - dense tensors: `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, OrderedDict())`
 *   over a typed storage (`torch.FloatStorage`, numel in elements), or, for dtypes without a typed
 *   storage class (uint16/32/64, float8, ...) and storages viewed with several dtypes,
 *   `_rebuild_tensor_v3(..., dtype)` over `torch.storage.UntypedStorage` (numel in bytes);
 * - `_rebuild_parameter(data, requires_grad, OrderedDict())` (or `_with_state`) for Parameters,
 *   `_rebuild_from_type_v2` for subclasses and tensors with attributes, `_rebuild_qtensor`,
 *   `_rebuild_sparse_tensor`, `_rebuild_meta_tensor_no_storage`, `_rebuild_wrapper_subclass`;
 * - storages: persistent id `("storage", type, key, location, numel)` (legacy layout: plus a
 *   view, `None` or `(view_key, offset, numel)`), keys "0", "1", ... in the order the pickle first
 *   meets them, as torch numbers them.
 *
 * A tensor or array read from a file carries the call that built it (`origin`). When that call,
 * read again, still describes the tensor exactly, it is written back as it came (keeping
 * `torch.Size` wrappers, torch 1.13's `_rebuild_sparse_csr_tensor`, hooks and metadata); otherwise
 * the call is made afresh from the tensor's fields.
 *
 * A legacy view storage (a slice of another storage, which only the legacy layout can express)
 * keeps its view in the legacy layout; the zip layout writes it as a record of its own, as
 * torch.save does after loading such a file, so offsets stay as they were.
 */
import { PickleEncodeError } from "../../errors.js";
import type { PyGlobal, PyObject, PyValue } from "../../pickle/value.js";
import { isPyGlobal, pyBytes, pyDict, pyFloat, pyTuple } from "../../pickle/value.js";
import { dtypeByName } from "../dtypes.js";
import type { DTypeName } from "../dtypes.js";
import type { NdArray, Storage, Tensor, TorchHost, TorchValue } from "../model.js";
import { isNdArray, isStorage, isTensor } from "../model.js";
import { isWeightsOnlyGlobal } from "./write-weights-only.js";
import { originReader, sameTensor, storageFamily, withOriginExtras } from "./write-tensor-origin.js";
import { visitGraph } from "../visit.js";
import type { HostWriter } from "../../pickle/encode-host.js";
import { directTensorWriter } from "./write-tensor-direct.js";

/** One `data/<key>` record (or legacy storage) the pickle refers to. */
export interface StorageRecord {
  readonly key: string;
  /** The storage whose bytes fill the record. */
  readonly storage: Storage;
  /** Typed storage class (numel in elements) or `UntypedStorage` (numel in bytes). */
  readonly typed: boolean;
  /** Bytes per element as the persistent id counts them (1 when untyped). */
  readonly elementSize: number;
  readonly numel: number;
  readonly byteLength: number;
}

/** The hooks {@link torchPickleHooks} makes for `encodePickle`, and the storages they collect. */
export interface TorchPickleHooks {
  /** For `encodePickle`: what a tensor, storage or array is pickled as. Cached per object. */
  readonly reduceHost: (host: TorchHost) => PyValue<TorchHost>;
  /** For `encodePickle`: the persistent id of a storage, undefined for anything else. */
  readonly persistentId: (value: PyValue<TorchHost>) => PyValue<TorchHost> | undefined;
  /** For `encodePickle`: the plain tensors written directly (`write-tensor-direct.ts`). */
  readonly writeHost: (host: TorchHost, w: HostWriter) => boolean;
  /** True for the tensors `writeHost` writes (their call passes the weights-only rules). */
  readonly isDirect: (host: TorchHost) => boolean;
  /** Storages in the order the pickle first met them (filled while encoding). */
  readonly records: StorageRecord[];
}

/** Options of {@link torchPickleHooks}. */
export interface TorchPickleOptions {
  /** "legacy" adds the `None` view to persistent ids and refuses untyped storages. */
  readonly layout: "zip" | "legacy";
  /** Prefer calls torch's weights-only unpickler accepts when a kept `origin` uses one it refuses. */
  readonly weightsOnly: boolean;
}

type Call = PyObject<TorchHost>;

/**
 * Hooks for pickling `root` the way torch.save does. The graph is scanned first, to know which
 * storages are viewed with more than one dtype (those are written untyped).
 */
export function torchPickleHooks(root: TorchValue, options: TorchPickleOptions): TorchPickleHooks {
  const globals = new Map<string, PyGlobal>();
  const G = (module: string, name: string): PyGlobal => {
    const k = `${module}.${name}`;
    let g = globals.get(k);
    if (g === undefined) globals.set(k, (g = { kind: "global", module, name }));
    return g;
  };
  const call = (fn: PyGlobal, items: PyValue<TorchHost>[]): Call => ({ kind: "object", via: "reduce", callable: fn, args: pyTuple(items) });
  const hooks = (): PyValue<TorchHost> => pyDict([], G("collections", "OrderedDict"));
  const dtypeGlobal = (d: DTypeName): PyGlobal => G("torch", d);

  const viewedOtherwise = storagesViewedOtherwise(root);
  /** Typed (legacy storage class) unless the dtype has none, the file had it untyped, or a tensor views it with another dtype. */
  const isTyped = (s: Storage): boolean => {
    const info = dtypeByName(s.dtype);
    return info?.storageClass !== undefined && s.storageType.name !== "UntypedStorage" && s.byteLength % info.itemSize === 0 && !viewedOtherwise.has(s);
  };

  const records: StorageRecord[] = [];
  const recordOf = new Map<Storage, StorageRecord>();
  const viewKeys = new Map<Storage, string>();
  let nextKey = 0;
  const record = (s: Storage): StorageRecord => {
    let rec = recordOf.get(s);
    if (rec === undefined) {
      const typed = isTyped(s);
      if (!typed && options.layout === "legacy") {
        throw new PickleEncodeError("unencodable", `the legacy layout has no untyped storages (storage of ${s.dtype}); use the zip layout`);
      }
      const elementSize = typed ? dtypeByName(s.dtype)!.itemSize : 1;
      rec = { key: String(nextKey++), storage: s, typed, elementSize, numel: s.byteLength / elementSize, byteLength: s.byteLength };
      recordOf.set(s, rec);
      records.push(rec);
    }
    return rec;
  };
  const persistentId = (value: PyValue<TorchHost>): PyValue<TorchHost> | undefined => {
    if (!isStorage(value)) return undefined;
    const view = options.layout === "legacy" ? legacyView(value) : undefined;
    const rec = record(view?.root ?? value);
    const s = rec.storage;
    const type = rec.typed ? G("torch", dtypeByName(s.dtype)!.storageClass!) : G("torch.storage", "UntypedStorage");
    const items: PyValue<TorchHost>[] = ["storage", type, rec.key, s.location, rec.numel];
    if (options.layout === "legacy") {
      let viewItem: PyValue<TorchHost> = null;
      if (view !== undefined) {
        let key = viewKeys.get(value);
        if (key === undefined) viewKeys.set(value, (key = String(nextKey++)));
        viewItem = pyTuple([key, view.offset, value.byteLength / rec.elementSize]);
      }
      items.push(viewItem);
    }
    return pyTuple(items);
  };

  const stridedArgs = (t: Tensor): PyValue<TorchHost>[] => [
    t.storage!, t.storageOffset, pyTuple([...t.shape]), pyTuple([...t.stride]),
  ];

  /** The plain (non-Parameter, no attributes) call for a storage-backed tensor. */
  const plainCall = (t: Tensor, requiresGrad: boolean): Call => {
    const s = t.storage!;
    const q = t.quantization;
    if (q !== undefined) {
      const qparams: PyValue<TorchHost>[] =
        "scale" in q ? [G("torch", q.scheme), pyFloat(q.scale), q.zeroPoint] : [G("torch", q.scheme), q.scales, q.zeroPoints, q.axis];
      return call(G("torch._utils", "_rebuild_qtensor"), [...stridedArgs(t), pyTuple(qparams), requiresGrad, hooks()]);
    }
    if (isTyped(s) && t.dtype === s.dtype) {
      return call(G("torch._utils", "_rebuild_tensor_v2"), [...stridedArgs(t), requiresGrad, hooks()]);
    }
    if (options.layout === "legacy") {
      throw new PickleEncodeError("unencodable", `the legacy layout cannot hold a ${t.dtype} tensor on a ${s.dtype} storage; use the zip layout`);
    }
    return call(G("torch._utils", "_rebuild_tensor_v3"), [...stridedArgs(t), requiresGrad, hooks(), dtypeGlobal(t.dtype)]);
  };

  /** A plain tensor over the same bytes: the `data` of a Parameter, the CPU copy of an xla tensor. */
  const dataOf = (t: Tensor): Tensor => ({
    kind: "tensor", dtype: t.dtype, shape: t.shape, stride: t.stride, storageOffset: t.storageOffset,
    ...(t.storage === undefined ? {} : { storage: t.storage }), device: t.storage?.location ?? t.device,
    requiresGrad: false, isParameter: false, layout: t.layout,
    ...(t.quantization === undefined ? {} : { quantization: t.quantization }),
    ...(t.sparse === undefined ? {} : { sparse: t.sparse }),
  });

  const layoutValue = (name: string): Call => call(G("torch.serialization", "_get_layout"), [`torch.${name}`]);
  const sizeValue = (size: readonly number[]): Call => call(G("torch", "Size"), [pyTuple([...size])]);
  const deviceValue = (device: string): Call => {
    const m = /^(.*):(\d+)$/.exec(device);
    return call(G("torch", "device"), m === null ? [device] : [m[1]!, Number(m[2])]);
  };

  const sparseCall = (t: Tensor): Call => {
    const s = t.sparse!;
    let data: PyValue<TorchHost>[];
    if (t.layout === "sparse_coo") {
      if (s.indices === undefined) throw unencodableTensor("a sparse COO tensor without indices");
      data = [s.indices, s.values, sizeValue(s.size)];
      // torch 1.x pickles (indices, values, size); 2.x adds is_coalesced.
      if (typeof s.isCoalesced === "boolean") data.push(s.isCoalesced);
    } else {
      if (s.compressedIndices === undefined || s.plainIndices === undefined) throw unencodableTensor(`a ${t.layout} tensor without its indices`);
      data = [s.compressedIndices, s.plainIndices, s.values, sizeValue(s.size)];
    }
    return call(G("torch._utils", "_rebuild_sparse_tensor"), [layoutValue(t.layout), pyTuple(data)]);
  };

  /** The call `torch.save` would make for `t`, from its fields alone. */
  const freshCall = (t: Tensor): Call => {
    if (t.sparse !== undefined) return sparseCall(t);
    if (t.storage === undefined) {
      if (t.subclass !== undefined) {
        return call(G("torch._utils", "_rebuild_wrapper_subclass"), [
          t.subclass, dtypeGlobal(t.dtype), pyTuple([...t.shape]), pyTuple([...t.stride]), t.storageOffset,
          layoutValue(t.layout), deviceValue(t.device), t.requiresGrad,
        ]);
      }
      if (t.device === "meta") {
        return call(G("torch._utils", "_rebuild_meta_tensor_no_storage"), [
          dtypeGlobal(t.dtype), pyTuple([...t.shape]), pyTuple([...t.stride]), t.requiresGrad,
        ]);
      }
      throw unencodableTensor(`a ${t.layout} tensor on ${t.device} without a storage`);
    }
    if (t.isParameter) {
      const args: PyValue<TorchHost>[] = [dataOf(t), t.requiresGrad, hooks()];
      if (t.state !== undefined) return call(G("torch._utils", "_rebuild_parameter_with_state"), [...args, t.state]);
      return call(G("torch._utils", "_rebuild_parameter"), args);
    }
    if (t.subclass !== undefined || t.state !== undefined) {
      const inner = plainCall(t, t.requiresGrad);
      return call(G("torch._tensor", "_rebuild_from_type_v2"), [
        inner.callable, t.subclass ?? G("torch", "Tensor"), inner.args, t.state ?? pyDict([]),
      ]);
    }
    if (t.device !== t.storage.location) {
      return call(G("torch._utils", "_rebuild_device_tensor_from_cpu_tensor"), [dataOf(t), dtypeGlobal(t.dtype), t.device, t.requiresGrad]);
    }
    return plainCall(t, t.requiresGrad);
  };

  const reinterpret = originReader();
  const lowered = new Map<TorchHost, PyValue<TorchHost>>();

  const lowerTensor = (t: Tensor): PyValue<TorchHost> => {
    const origin = t.origin;
    if (origin !== undefined && isPyGlobal(origin.callable)) {
      const family = storageFamily(origin);
      const s = t.storage;
      const consistent = s === undefined || family === undefined || family === (isTyped(s) ? "typed" : "untyped");
      const allowed = !options.weightsOnly || isWeightsOnlyGlobal(origin.callable);
      if (consistent && allowed && sameTensor(reinterpret(origin), t)) return origin;
    }
    const fresh = freshCall(t);
    return withOriginExtras(fresh, origin);
  };

  const reduceHost = (host: TorchHost): PyValue<TorchHost> => {
    let out = lowered.get(host);
    if (out !== undefined) return out;
    if (isTensor(host)) out = lowerTensor(host);
    else if (isNdArray(host)) out = lowerArray(host, G);
    else if (isStorage(host)) out = persistentId(host)!; // reached only when the encoder skips persistentId
    else throw new PickleEncodeError("unencodable", `not a torch value: ${String((host as { kind?: unknown }).kind)}`);
    lowered.set(host, out);
    return out;
  };

  const direct = directTensorWriter({ layout: options.layout, G, isTyped, record, isLegacyView: (st) => legacyView(st) !== undefined });
  return { reduceHost, persistentId, writeHost: direct.writeHost, isDirect: direct.isDirect, records };
}

/** A legacy view storage the legacy layout can write as a view: a slice of a root of the same dtype. */
function legacyView(s: Storage): { root: Storage; offset: number } | undefined {
  const v = s.view;
  return v !== undefined && v.root.view === undefined && v.root.dtype === s.dtype ? v : undefined;
}

/** The storages some tensor anywhere in the graph views with a dtype other than the storage's own. */
function storagesViewedOtherwise(root: TorchValue): Set<Storage> {
  const out = new Set<Storage>();
  visitGraph(
    root,
    (v) => {
      if (isStorage(v)) return false; // a storage leads to no tensor
      if (!isTensor(v)) return;
      if (v.storage !== undefined && v.dtype !== v.storage.dtype) out.add(v.storage);
      // A plain tensor's only child is its storage: nothing below it to look at.
      return v.origin !== undefined || v.state !== undefined || v.quantization !== undefined || v.sparse !== undefined ? undefined : false;
    },
    { revisitTensors: true },
  );
  return out;
}

const NUMPY = "numpy.core.multiarray";

/** numpy's own pickle of an array or scalar: `_reconstruct` + BUILD, or `scalar(dtype, bytes)`. */
function lowerArray(a: NdArray, G: (module: string, name: string) => PyGlobal): PyValue<TorchHost> {
  if (a.origin !== undefined) return a.origin;
  if (a.data === undefined) {
    throw new PickleEncodeError("unencodable", "a numpy object array can only be written back from the pickle it was read from");
  }
  const m = /^([<>|=]?)([a-zA-Z]\d*)$/.exec(a.descr);
  if (m === null) throw new PickleEncodeError("unencodable", `numpy dtype ${JSON.stringify(a.descr)} cannot be written`);
  const code = m[2]!;
  const single = /^[a-zA-Z]1$/.test(code) || code === "?";
  const order = single ? "|" : m[1] === ">" ? ">" : "<";
  const dtype: PyObject<TorchHost> = {
    kind: "object", via: "reduce", callable: G("numpy", "dtype"), args: pyTuple([code, false, true]),
    state: pyTuple([3, order, null, null, null, -1, -1, 0]),
  };
  if (a.scalar) {
    return { kind: "object", via: "reduce", callable: G(NUMPY, "scalar"), args: pyTuple<TorchHost>([dtype, pyBytes(a.data)]) };
  }
  return {
    kind: "object", via: "reduce", callable: G(NUMPY, "_reconstruct"),
    args: pyTuple([G("numpy", "ndarray"), pyTuple([0]), pyBytes(new Uint8Array([0x62]))]),
    state: pyTuple<TorchHost>([1, pyTuple([...a.shape]), dtype, a.fortranOrder, pyBytes(a.data)]),
  };
}

function unencodableTensor(what: string): PickleEncodeError {
  return new PickleEncodeError("unencodable", `cannot write ${what}`);
}
