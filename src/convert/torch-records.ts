/**
 * Tensors and numpy arrays as records: str-keyed dicts of plain fields that every lossless format
 * (JSON, msgpack, the safetensors skeleton) writes the same way, and the inverse. A record names
 * every field of the model, so reading one back gives an identical `Tensor`/`NdArray`.
 *
 * The rebuild call a reader kept (`origin`) is left out when it is exactly what `torch.save` writes
 * for the tensor (`_rebuild_tensor_v2`/`_v3`, wrapped in `_rebuild_parameter` for a Parameter) and
 * rebuilt on the way back; `null` records "no origin" (a tensor built in memory); anything else is
 * kept verbatim. numpy arrays drop their fields instead when the origin alone gives them back.
 */
import { ConvertError, type KeyPath } from "../errors.js";
import type { PyDict, PyGlobal, PyObject } from "../pickle/value.js";
import { isPyGlobal, pyBytes, pyDict, pyFloat, pyGlobal, pyKind, pyList, pyTuple } from "../pickle/value.js";
import type { DTypeName, NdArray, Quantization, SparseParts, Storage, Tensor, TensorLayout, TorchHost, TorchValue } from "../torch/index.js";
import { dtypeByName, isTensor } from "../torch/index.js";
import { buildNdArray, numpyScalar } from "../numpy/numpy.js";

type Record_ = PyDict<TorchHost>;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const ORDERED_DICT = (): PyGlobal => pyGlobal("collections", "OrderedDict");
const LAYOUTS: readonly TensorLayout[] = ["strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc"];

/** Builds a record dict from fields in order, skipping undefined ones. */
function record(fields: [string, TorchValue | undefined][]): Record_ {
  return pyDict(fields.filter((f): f is [string, TorchValue] => f[1] !== undefined));
}

const ints = (xs: readonly number[]): TorchValue => pyList<TorchHost>([...xs]);

// ---------------------------------------------------------------------------------------------
// The rebuild call torch.save writes.

/**
 * The rebuild call `torch.save` writes for `t` (torch 1.13 and 2.x): `_rebuild_tensor_v2(storage,
 * offset, size, stride, requires_grad, OrderedDict())` over a typed storage, `_rebuild_tensor_v3`
 * (same, plus the dtype) over an `UntypedStorage`, inside `_rebuild_parameter(data,
 * requires_grad, OrderedDict())` for a Parameter. Undefined for tensors that need another call
 * (quantized, sparse, subclasses, attributes, storage-less) or whose fields a rebuild cannot give.
 */
export function canonicalOrigin(t: Tensor): PyObject<TorchHost> | undefined {
  const s = t.storage;
  if (s === undefined || t.layout !== "strided" || t.quantization !== undefined || t.sparse !== undefined) return undefined;
  if (t.subclass !== undefined || t.state !== undefined || t.device !== s.location) return undefined;
  const untyped = s.storageType.name === "UntypedStorage";
  // v2 takes the dtype from the typed storage; v3 names it, and an untyped storage learns it from the tensor.
  if (t.dtype !== s.dtype || dtypeByName(t.dtype)?.name !== t.dtype) return undefined;
  const dataArgs: TorchValue[] = [s, t.storageOffset, pyTuple<TorchHost>([...t.shape]), pyTuple<TorchHost>([...t.stride])];
  const inner = (requiresGrad: boolean): PyObject<TorchHost> => ({
    kind: "object", via: "reduce",
    callable: pyGlobal("torch._utils", untyped ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2"),
    args: pyTuple<TorchHost>([...dataArgs, requiresGrad, pyDict<TorchHost>([], ORDERED_DICT()), ...(untyped ? [pyGlobal("torch", t.dtype)] : [])]),
  });
  if (!t.isParameter) return inner(t.requiresGrad);
  const data: Tensor = {
    kind: "tensor", dtype: t.dtype, shape: [...t.shape], stride: [...t.stride], storageOffset: t.storageOffset, storage: s,
    device: t.device, requiresGrad: false, isParameter: false, layout: "strided", origin: inner(false),
  };
  return {
    kind: "object", via: "reduce", callable: pyGlobal("torch._utils", "_rebuild_parameter"),
    args: pyTuple<TorchHost>([data, t.requiresGrad, pyDict<TorchHost>([], ORDERED_DICT())]),
  };
}

/** True when `t.origin` is exactly {@link canonicalOrigin} (storages by identity). */
export function hasCanonicalOrigin(t: Tensor): boolean {
  const canon = canonicalOrigin(t);
  return canon !== undefined && t.origin !== undefined && sameValue(t.origin, canon, 0);
}

/** Structural equality of origin-sized values; storages by identity, tensors field by field. */
function sameValue(a: TorchValue | undefined, b: TorchValue | undefined, depth: number): boolean {
  if (a === b) return true;
  if (depth > 64 || typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  const ka = (a as { kind?: unknown }).kind;
  if (ka !== (b as { kind?: unknown }).kind) return false;
  switch (ka) {
    case "tuple":
    case "list": {
      const x = (a as { items: TorchValue[] }).items, y = (b as { items: TorchValue[] }).items;
      return x.length === y.length && x.every((v, i) => sameValue(v, y[i], depth + 1));
    }
    case "dict": {
      const x = a as PyDict<TorchHost>, y = b as PyDict<TorchHost>;
      return x.entries.length === 0 && y.entries.length === 0 && x.state === undefined && y.state === undefined && sameGlobal(x.type, y.type);
    }
    case "global":
      return sameGlobal(a as PyGlobal, b as PyGlobal);
    case "object": {
      const x = a as PyObject<TorchHost>, y = b as PyObject<TorchHost>;
      const keys = ["kwargs", "state", "listItems", "dictItems", "setItems"] as const;
      return x.via === y.via && keys.every((k) => x[k] === undefined && y[k] === undefined) &&
        sameValue(x.callable, y.callable, depth + 1) && sameValue(x.args, y.args, depth + 1);
    }
    case "tensor": {
      const x = a as Tensor, y = b as Tensor;
      const keys = ["dtype", "storageOffset", "storage", "device", "requiresGrad", "isParameter", "layout", "quantization", "sparse", "subclass", "state"] as const;
      return keys.every((k) => x[k] === y[k]) && sameInts(x.shape, y.shape) && sameInts(x.stride, y.stride) && sameValue(x.origin, y.origin, depth + 1);
    }
    default:
      return false;
  }
}

const sameGlobal = (a: PyGlobal | undefined, b: PyGlobal | undefined): boolean =>
  a === b || (a !== undefined && b !== undefined && a.module === b.module && a.name === b.name);
const sameInts = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

// ---------------------------------------------------------------------------------------------
// Tensor ↔ record.

/**
 * The record of a tensor: `dtype, shape, stride, offset, storage (the storage's key), device,
 * requires_grad, parameter`, then, when they apply, `layout, quantized, sparse, subclass, state`,
 * and `origin` (absent when canonical or when the tensor has none but a standard call exists,
 * None when it has none and no standard call exists). `omitOrigin` says whether
 * the origin may be left out (default: when it is canonical; callers that know its parts are
 * shared with other values pass false, so the sharing survives).
 */
export function tensorRecord(t: Tensor, storageKey: (s: Storage) => string, omitOrigin = hasCanonicalOrigin(t)): Record_ {
  let origin: TorchValue | undefined;
  // No origin stands for the standard call when there is one (the reader keeps none for it).
  if (t.origin === undefined) origin = canonicalOrigin(t) === undefined ? null : undefined;
  else if (!omitOrigin) origin = t.origin;
  return record([
    ["dtype", t.dtype],
    ["shape", ints(t.shape)],
    ["stride", ints(t.stride)],
    ["offset", t.storageOffset],
    ["storage", t.storage === undefined ? undefined : storageKey(t.storage)],
    ["device", t.device],
    ["requires_grad", t.requiresGrad],
    ["parameter", t.isParameter],
    ["layout", t.layout === "strided" ? undefined : t.layout],
    ["quantized", t.quantization === undefined ? undefined : quantRecord(t.quantization)],
    ["sparse", t.sparse === undefined ? undefined : sparseRecord(t.sparse)],
    ["subclass", t.subclass],
    ["state", t.state],
    ["origin", origin],
  ]);
}

function quantRecord(q: Quantization): Record_ {
  if ("scale" in q) return record([["scheme", q.scheme], ["scale", pyFloat(q.scale)], ["zero_point", q.zeroPoint]]);
  return record([["scheme", q.scheme], ["scales", q.scales], ["zero_points", q.zeroPoints], ["axis", q.axis]]);
}

function sparseRecord(s: SparseParts): Record_ {
  return record([
    ["size", ints(s.size)],
    ["indices", s.indices],
    ["values", s.values],
    ["is_coalesced", s.isCoalesced],
    ["compressed_indices", s.compressedIndices],
    ["plain_indices", s.plainIndices],
  ]);
}

/** Typed access to a decoded record's fields, with errors that name the field. */
export interface RecordFields {
  fail(reason: string): ConvertError;
  has(name: string): boolean;
  raw(name: string): TorchValue | undefined;
  str(name: string): string;
  optStr(name: string): string | undefined;
  int(name: string, min?: number): number;
  bool(name: string): boolean;
  float(name: string): number;
  ints(name: string, min?: number): number[];
  tensor(name: string): Tensor;
  optTensor(name: string): Tensor | undefined;
  global(name: string): PyGlobal;
  dtype(name: string): DTypeName;
}

/**
 * Reads a record: a dict with distinct str keys.
 * @throws ConvertError `invalid-data` (with `path`) when it is not one, and from each accessor.
 */
export function recordFields(rec: TorchValue, what: string, path: KeyPath = []): RecordFields {
  const fail = (reason: string): ConvertError => new ConvertError("invalid-data", reason, { path });
  const fields = new Map<string, TorchValue>();
  if (pyKind(rec) !== "dict") throw fail(`a ${what} record must be a dict of fields`);
  for (const [k, v] of (rec as Record_).entries) {
    if (typeof k !== "string") throw fail(`a ${what} record has a non-str key`);
    if (fields.has(k)) throw fail(`a ${what} record names ${k} twice`);
    fields.set(k, v);
  }
  const str = (name: string): string => {
    const v = fields.get(name);
    if (typeof v !== "string") throw fail(`${what}.${name} must be a str`);
    return v;
  };
  const tensor = (name: string): Tensor => {
    const v = fields.get(name);
    if (!isTensor(v)) throw fail(`${what}.${name} must be a tensor`);
    return v;
  };
  return {
    fail,
    has: (name) => fields.has(name),
    raw: (name) => fields.get(name),
    str,
    optStr: (name) => (fields.has(name) ? str(name) : undefined),
    int(name, min = 0) {
      const v = fields.get(name);
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) throw fail(`${what}.${name} must be an int >= ${min}`);
      return v;
    },
    bool(name) {
      const v = fields.get(name);
      if (typeof v !== "boolean") throw fail(`${what}.${name} must be a bool`);
      return v;
    },
    float(name) {
      const v = fields.get(name);
      if (pyKind(v) === "float") return (v as { value: number }).value;
      if (typeof v === "number") return v;
      throw fail(`${what}.${name} must be a float`);
    },
    ints(name, min = 0) {
      const v = fields.get(name);
      const kind = pyKind(v);
      if (kind !== "list" && kind !== "tuple") throw fail(`${what}.${name} must be a list of ints`);
      const items = (v as { items: TorchValue[] }).items;
      if (!items.every((x) => typeof x === "number" && Number.isSafeInteger(x) && x >= min)) {
        throw fail(`${what}.${name} must be a list of ints >= ${min}`);
      }
      return items as number[];
    },
    tensor,
    optTensor: (name) => (fields.has(name) ? tensor(name) : undefined),
    global(name) {
      const v = fields.get(name);
      if (!isPyGlobal(v)) throw fail(`${what}.${name} must be a global`);
      return v;
    },
    dtype(name) {
      const d = dtypeByName(str(name));
      if (d === undefined || d.name !== str(name)) throw fail(`${what}.${name}: unknown dtype ${JSON.stringify(str(name))}`);
      return d.name;
    },
  };
}

/**
 * The tensor a record describes. `storageByKey` resolves the `storage` field (throw if unknown).
 * @throws ConvertError `invalid-data` naming the field that is missing or of the wrong type.
 */
export function tensorFromRecord(rec: TorchValue, storageByKey: (key: string) => Storage, path: KeyPath = []): Tensor {
  const r = recordFields(rec, "tensor", path);
  const shape = r.ints("shape");
  const stride = r.ints("stride", Number.MIN_SAFE_INTEGER);
  if (shape.length !== stride.length && r.optStr("layout") === undefined) throw r.fail("tensor shape and stride differ in length");
  const layoutName = r.optStr("layout") ?? "strided";
  const layout = LAYOUTS.find((l) => l === layoutName);
  if (layout === undefined) throw r.fail(`unknown tensor layout ${JSON.stringify(layoutName)}`);
  const storageKey = r.optStr("storage");
  const t: Mutable<Tensor> = {
    kind: "tensor", dtype: r.dtype("dtype"), shape: [...shape], stride: [...stride], storageOffset: r.int("offset"),
    ...(storageKey === undefined ? {} : { storage: storageByKey(storageKey) }),
    device: r.str("device"), requiresGrad: r.bool("requires_grad"), isParameter: r.bool("parameter"), layout,
  };
  if (r.has("quantized")) t.quantization = quantFromRecord(recordFields(r.raw("quantized")!, "tensor.quantized", path));
  if (r.has("sparse")) t.sparse = sparseFromRecord(recordFields(r.raw("sparse")!, "tensor.sparse", path));
  if (r.has("subclass")) t.subclass = r.global("subclass");
  if (r.has("state")) t.state = r.raw("state")!;
  const origin = r.raw("origin");
  if (origin === undefined) {
    // Left out: the standard call, which the tensor's fields already say (as the reader keeps it).
    if (canonicalOrigin(t) === undefined) throw r.fail("tensor.origin is missing and this tensor has no standard rebuild call");
  } else if (origin !== null) {
    if (pyKind(origin) !== "object") throw r.fail("tensor.origin must be an object or None");
    t.origin = origin as PyObject<TorchHost>;
  }
  return t;
}

const PER_TENSOR = ["per_tensor_affine", "per_tensor_symmetric"] as const;
const PER_CHANNEL = ["per_channel_affine", "per_channel_symmetric", "per_channel_affine_float_qparams"] as const;

function quantFromRecord(r: RecordFields): Quantization {
  const scheme = r.str("scheme");
  const perTensor = PER_TENSOR.find((s) => s === scheme);
  if (perTensor !== undefined) return { scheme: perTensor, scale: r.float("scale"), zeroPoint: r.int("zero_point", Number.MIN_SAFE_INTEGER) };
  const perChannel = PER_CHANNEL.find((s) => s === scheme);
  if (perChannel === undefined) throw r.fail(`unknown qscheme ${JSON.stringify(scheme)}`);
  return { scheme: perChannel, scales: r.tensor("scales"), zeroPoints: r.tensor("zero_points"), axis: r.int("axis", Number.MIN_SAFE_INTEGER) };
}

function sparseFromRecord(r: RecordFields): SparseParts {
  const out: Mutable<SparseParts> = { size: [...r.ints("size")], values: r.tensor("values") };
  const indices = r.optTensor("indices");
  if (indices !== undefined) out.indices = indices;
  if (r.has("is_coalesced")) {
    const c = r.raw("is_coalesced");
    if (c !== null && typeof c !== "boolean") throw r.fail("tensor.sparse.is_coalesced must be a bool or None");
    out.isCoalesced = c;
  }
  const compressed = r.optTensor("compressed_indices");
  if (compressed !== undefined) out.compressedIndices = compressed;
  const plain = r.optTensor("plain_indices");
  if (plain !== undefined) out.plainIndices = plain;
  return out;
}

// ---------------------------------------------------------------------------------------------
// numpy arrays ↔ record.

/** The array the reader builds from `origin` alone, or undefined if the origin is not a numpy call it knows. */
export function ndarrayFromOrigin(origin: PyObject<TorchHost>): NdArray | undefined {
  const c = origin.callable;
  if (!isPyGlobal(c) || (c.module !== "numpy.core.multiarray" && c.module !== "numpy._core.multiarray")) return undefined;
  if (c.name === "_reconstruct") {
    if (origin.state === undefined) return undefined;
    const { state, ...call } = origin;
    const shell: Mutable<NdArray> = { kind: "ndarray", descr: "", shape: [], fortranOrder: false, scalar: false, origin: call };
    return buildNdArray(shell, state) ? shell : undefined;
  }
  if (c.name !== "scalar" || origin.state !== undefined) return undefined;
  return numpyScalar(pyKind(origin.args) === "tuple" ? (origin.args as { items: TorchValue[] }).items : [], origin);
}

function sameNdArray(a: NdArray, b: NdArray): boolean {
  const bytesEqual = (x?: Uint8Array, y?: Uint8Array): boolean =>
    x === y || (x !== undefined && y !== undefined && x.length === y.length && x.every((v, i) => v === y[i]));
  return a.descr === b.descr && a.dtype === b.dtype && sameInts(a.shape, b.shape) && a.fortranOrder === b.fortranOrder &&
    a.scalar === b.scalar && a.items === b.items && bytesEqual(a.data, b.data) && JSON.stringify(a.fields) === JSON.stringify(b.fields);
}

/**
 * The record of a numpy array: `descr, shape, fortran, scalar` always (for people), then `origin`;
 * `dtype`, `data`/`items` follow only when the origin does not give them back (or there is none).
 */
export function ndarrayRecord(a: NdArray): Record_ {
  const derived = a.origin === undefined ? undefined : ndarrayFromOrigin(a.origin);
  const fromOrigin = derived !== undefined && sameNdArray(a, derived);
  return record([
    ["descr", a.descr],
    ["shape", ints(a.shape)],
    ["fortran", a.fortranOrder],
    ["scalar", a.scalar],
    ["dtype", fromOrigin ? undefined : a.dtype],
    ["data", fromOrigin || a.data === undefined ? undefined : pyBytes(a.data)],
    ["items", fromOrigin || a.items === undefined ? undefined : pyList(a.items)],
    ["derived", fromOrigin ? true : undefined],
    ["origin", a.origin ?? null],
  ]);
}

/** The numpy array a record describes. @throws ConvertError `invalid-data`. */
export function ndarrayFromRecord(rec: TorchValue, path: KeyPath = []): NdArray {
  const r = recordFields(rec, "ndarray", path);
  const origin = r.raw("origin");
  if (origin !== null && pyKind(origin) !== "object") throw r.fail("ndarray.origin must be an object or None");
  if (r.has("derived")) {
    const derived = origin === null || origin === undefined ? undefined : ndarrayFromOrigin(origin as PyObject<TorchHost>);
    if (derived === undefined) throw r.fail("ndarray.origin is not a numpy array call");
    return derived;
  }
  const a: Mutable<NdArray> = { kind: "ndarray", descr: r.str("descr"), shape: [...r.ints("shape")], fortranOrder: r.bool("fortran"), scalar: r.bool("scalar") };
  if (r.has("dtype")) a.dtype = r.dtype("dtype");
  if (r.has("data")) {
    const d = r.raw("data");
    if (pyKind(d) !== "bytes") throw r.fail("ndarray.data must be bytes");
    a.data = (d as { data: Uint8Array }).data;
  }
  if (r.has("items")) {
    const items = r.raw("items");
    if (pyKind(items) !== "list") throw r.fail("ndarray.items must be a list");
    a.items = (items as { items: TorchValue[] }).items;
  }
  if (origin !== null && origin !== undefined) a.origin = origin as PyObject<TorchHost>;
  return a;
}
