/**
 * Our reader's value graph in the skeleton format of `fixtures/torch/NAME.skeleton.json`
 * (fixtures/torch/README.md, "Skeleton format"): the lossless JSON value format
 * (docs/json-format.md) with tensors, numpy arrays and a few torch objects described in place, as
 * `gen_torch.make_host` describes the graph real torch loaded.
 *
 * The reader keeps every call it does not interpret inert, so that write-back is lossless. Torch
 * executes some of them on load; this helper describes those the way the Python side does. The
 * rules, all decided on what the pickle contains:
 *
 * - `torch.Size(t)` (a REDUCE of the global `torch.Size` on one tuple) → `{"$tuple": [...]}`:
 *   torch.Size is a tuple subclass.
 * - `torch.device(type[, index])` (a REDUCE of the global `torch.device`) → `{"$device": "type:index"}`.
 * - a global `torch.<dtype name>` (`torch.float16`, ...) used as a value → `{"$dtype": "float16"}`.
 * - an object built from a class whose BUILD state is a plain dict holding a bool `training` and
 *   the `_parameters`, `_buffers` and `_modules` dicts that `nn.Module.__init__` creates is an
 *   nn.Module → `{"$module": "module.Class", "state": <that dict>}`. Its state is exactly the
 *   `__dict__` torch restores.
 * - an object of a class in TorchScript's `__torch__` namespace whose state is a dict with a bool
 *   `training` is a ScriptModule → `{"$module": "__torch__.module.Class"}`; torch.jit.load builds
 *   it from the compiled type, and the skeleton names only that type.
 *
 * Sharing follows the pickle: one inert object met twice is one described value met twice, so it
 * gets `"$id"`/`"$ref"` just as torch's single loaded object does.
 */
import { createHash } from "node:crypto";
import type { JsonValue } from "../../src/convert/json-value.js";
import { valueToJson } from "../../src/convert/json-value.js";
import type { PyDict, PyGlobal, PyObject, PyValue } from "../../src/pickle/value.js";
import { isPyDict, isPyGlobal, isPyTuple, pyKind } from "../../src/pickle/value.js";
import type { CheckpointLayout } from "../../src/torch/read/checkpoint.js";
import { dtypeByName } from "../../src/torch/dtypes.js";
import type { NdArray, NdField, Storage, Tensor, TorchHost, TorchValue } from "../../src/torch/model.js";
import { isNdArray } from "../../src/torch/model.js";
import { tensorTypedArray } from "../../src/torch/tensor-data.js";

/** Options of {@link skeletonOf}. */
export interface SkeletonOptions {
  /**
   * The checkpoint's layout, for two facts the value graph cannot tell:
   * - "pickle": storages come from `torch.storage._load_from_bytes`, so no key of the file names
   *   them and tensors get no `"storage"` (the reader keys them by the nested legacy file's key);
   * - "tar": torch ≤ 0.1.9 pickles storage keys as ints, which our model keeps as strings
   *   (`Storage.key` is always a string), so decimal keys are written back as numbers.
   * Default: neither applies.
   */
  readonly layout?: CheckpointLayout;
}

/** A torch object the reader keeps inert but torch builds on load, described as the skeleton does. */
type Described =
  | { readonly kind: "skeleton"; readonly tag: "size"; readonly items: PyValue<Host>[] }
  | { readonly kind: "skeleton"; readonly tag: "device"; readonly device: string }
  | { readonly kind: "skeleton"; readonly tag: "dtype"; readonly dtype: string }
  | { readonly kind: "skeleton"; readonly tag: "module"; readonly name: string; state: PyValue<Host> | undefined };

type Host = TorchHost | Described;
type Recurse = (v: PyValue<Host>) => JsonValue;
type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/**
 * Describes a checkpoint's root (`checkpoint.root`) in torch's skeleton format.
 * @throws Error for a numpy object array (its raw bytes are pointers on the Python side, so the
 *   skeleton format cannot describe it), and whatever `valueToJson` throws.
 */
export function skeletonOf(root: TorchValue, options: SkeletonOptions = {}): JsonValue {
  const norm = normalizer();
  const layout = options.layout;
  const host = (v: Host, recurse: Recurse): JsonValue => {
    switch (v.kind) {
      case "tensor":
        return { $tensor: tensorJson(v, (x) => recurse(norm(x)), layout) };
      case "ndarray":
        return ndarrayJson(v);
      case "storage":
        return storageJson(v);
      case "skeleton":
        return describedJson(v, recurse);
    }
  };
  return valueToJson<Host>(norm(root), { host });
}

// ---------------------------------------------------------------------------------------------
// Normalization: a copy of the graph with torch's inert objects replaced by Described values.

/**
 * Returns a memoized copy function: each original object maps to one copy, so sharing and cycles
 * carry over (a shell is registered before its children are copied). Recursive: the fixtures are
 * shallow, and this is test code over trusted files.
 */
function normalizer(): (v: TorchValue) => PyValue<Host> {
  const done = new Map<object, PyValue<Host>>();
  const norm = (v: TorchValue): PyValue<Host> => {
    if (typeof v !== "object" || v === null) return v;
    const known = done.get(v);
    return known !== undefined ? known : copy(v);
  };
  const keep = <T extends PyValue<Host>>(from: object, to: T): T => {
    done.set(from, to);
    return to;
  };
  const copy = (v: object): PyValue<Host> => {
    switch (pyKind(v)) {
      case "tuple":
      case "list":
      case "set":
      case "frozenset": {
        const c = v as { kind: "tuple" | "list" | "set" | "frozenset"; items: TorchValue[] };
        const out = keep(v, { kind: c.kind, items: [] as PyValue<Host>[] });
        for (const x of c.items) out.items.push(norm(x));
        return out as PyValue<Host>;
      }
      case "dict": {
        const d = v as PyDict<TorchHost>;
        const out: Mutable<PyDict<Host>> = keep(v, d.type === undefined ? { kind: "dict", entries: [] } : { kind: "dict", entries: [], type: d.type });
        for (const [k, x] of d.entries) out.entries.push([norm(k), norm(x)]);
        if (d.state !== undefined) out.state = norm(d.state);
        return out;
      }
      case "global":
        return keep(v, dtypeGlobal(v as PyGlobal) ?? (v as PyGlobal));
      case "object":
        return copyObject(v as PyObject<TorchHost>);
      case "persid": {
        const p = v as { pid: TorchValue; binary: boolean };
        const out = keep(v, { kind: "persid", pid: null as PyValue<Host>, binary: p.binary });
        out.pid = norm(p.pid);
        return out;
      }
      default:
        // A numpy scalar is not an ndarray on the Python side: it is described as pickle writes
        // it, the inert `scalar(dtype, bytes)` call.
        if (isNdArray(v) && v.scalar) return keep(v, norm(v.origin ?? null));
        // Leaves without children (float, bytes, ...) and host values: the host hook normalizes
        // what a tensor or array holds when it describes it.
        return keep(v, v as PyValue<Host>);
    }
  };
  const copyObject = (o: PyObject<TorchHost>): PyValue<Host> => {
    const size = sizeItems(o);
    if (size !== undefined) {
      const out = keep(o, { kind: "skeleton", tag: "size", items: [] as PyValue<Host>[] });
      for (const x of size) out.items.push(norm(x));
      return out;
    }
    const device = deviceName(o);
    if (device !== undefined) return keep(o, { kind: "skeleton", tag: "device", device });
    const module = moduleName(o);
    if (module !== undefined) {
      const script = module.startsWith("__torch__.");
      const out: Described & { tag: "module" } = keep(o, { kind: "skeleton", tag: "module", name: module, state: undefined });
      if (!script) out.state = norm(o.state ?? null);
      return out;
    }
    const out: Mutable<PyObject<Host>> = keep(o, { kind: "object", via: o.via, callable: null, args: null });
    out.callable = norm(o.callable);
    out.args = norm(o.args);
    if (o.kwargs !== undefined) out.kwargs = norm(o.kwargs);
    if (o.state !== undefined) out.state = norm(o.state);
    if (o.listItems !== undefined) out.listItems = o.listItems.map(norm);
    if (o.dictItems !== undefined) out.dictItems = o.dictItems.map(([k, x]) => [norm(k), norm(x)]);
    if (o.setItems !== undefined) out.setItems = o.setItems.map(norm);
    return out;
  };
  return norm;
}

const isGlobal = (v: unknown, module: string, name: string): boolean =>
  isPyGlobal(v) && v.module === module && v.name === name;

/** `torch.float16` as a value: torch's dtype object, named canonically (`torch.half` → float16). */
function dtypeGlobal(g: PyGlobal): Described | undefined {
  const info = g.module === "torch" ? dtypeByName(g.name) : undefined;
  return info === undefined ? undefined : { kind: "skeleton", tag: "dtype", dtype: info.name };
}

/** The items of `torch.Size((...))`: a REDUCE of the global on a one-tuple holding a tuple or list. */
function sizeItems(o: PyObject<TorchHost>): TorchValue[] | undefined {
  if (o.via !== "reduce" || !isGlobal(o.callable, "torch", "Size") || !isPyTuple(o.args) || o.args.items.length !== 1) return undefined;
  if (o.state !== undefined || o.listItems !== undefined || o.dictItems !== undefined) return undefined;
  const inner = o.args.items[0];
  const kind = pyKind(inner);
  return kind === "tuple" || kind === "list" ? (inner as { items: TorchValue[] }).items : undefined;
}

/** `str(torch.device(...))` for a REDUCE of `torch.device` on `(type)`, `(type, index)` or `("type:index")`. */
function deviceName(o: PyObject<TorchHost>): string | undefined {
  if (o.via !== "reduce" || !isGlobal(o.callable, "torch", "device") || !isPyTuple(o.args)) return undefined;
  const [type, index, ...rest] = o.args.items;
  if (typeof type !== "string" || rest.length > 0) return undefined;
  if (index === undefined || index === null) return type;
  return typeof index === "number" ? `${type}:${index}` : undefined;
}

/** `module.Class` when `o` is an nn.Module or a ScriptModule by the rules in the file comment. */
function moduleName(o: PyObject<TorchHost>): string | undefined {
  const cls = objectClass(o);
  const state = o.state;
  if (cls === undefined || !isPyDict(state) || state.type !== undefined) return undefined;
  const keys = new Map<string, TorchValue>();
  for (const [k, x] of state.entries) if (typeof k === "string") keys.set(k, x);
  if (typeof keys.get("training") !== "boolean") return undefined;
  const name = `${cls.module}.${cls.name}`;
  if (cls.module === "__torch__" || cls.module.startsWith("__torch__.")) return name;
  const dicts = ["_parameters", "_buffers", "_modules"].every((k) => isPyDict(keys.get(k)));
  return dicts ? name : undefined;
}

/** The class an object was made from: NEWOBJ's class, or `copyreg._reconstructor(cls, ...)` below protocol 2. */
function objectClass(o: PyObject<TorchHost>): PyGlobal | undefined {
  if ((o.via === "newobj" || o.via === "newobj_ex" || o.via === "obj" || o.via === "inst") && isPyGlobal(o.callable)) return o.callable;
  if (o.via === "reduce" && isGlobal(o.callable, "copyreg", "_reconstructor") && isPyTuple(o.args)) {
    const cls = o.args.items[0];
    return isPyGlobal(cls) ? cls : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Host values.

function describedJson(v: Described, recurse: Recurse): JsonValue {
  switch (v.tag) {
    case "size":
      return { $tuple: v.items.map(recurse) };
    case "device":
      return { $device: v.device };
    case "dtype":
      return { $dtype: v.dtype };
    case "module":
      return v.state === undefined ? { $module: v.name } : { $module: v.name, state: recurse(v.state) };
  }
}

type TensorRecurse = (v: TorchValue) => JsonValue;

function tensorJson(t: Tensor, recurse: TensorRecurse, layout: CheckpointLayout | undefined): { [k: string]: JsonValue } {
  const d: { [k: string]: JsonValue } = { dtype: t.dtype, shape: t.shape };
  const strided = t.layout === "strided";
  if (strided) {
    d.stride = t.stride;
    d.offset = t.storageOffset;
  }
  d.requires_grad = t.requiresGrad;
  d.parameter = t.isParameter;
  d.device = t.device;
  if (strided && t.storage !== undefined && layout !== "pickle") d.storage = storageKey(t.storage, layout);
  const q = t.quantization;
  if (q !== undefined) {
    d.quantized = "scale" in q
      ? { qscheme: q.scheme, scale: q.scale, zero_point: q.zeroPoint }
      : { qscheme: q.scheme, scales: plainNumbers(q.scales), zero_points: plainNumbers(q.zeroPoints), axis: q.axis };
  }
  const sparse = t.sparse;
  if (t.layout === "sparse_coo" && sparse !== undefined) {
    d.layout = t.layout;
    d.indices = recurse(sparse.indices ?? null);
    d.values = recurse(sparse.values);
  } else if (t.layout === "sparse_csr" && sparse !== undefined) {
    d.layout = t.layout;
    d.crow_indices = recurse(sparse.compressedIndices ?? null);
    d.col_indices = recurse(sparse.plainIndices ?? null);
    d.values = recurse(sparse.values);
  } else if (!strided) {
    d.layout = t.layout;
  }
  if (t.subclass !== undefined) {
    d.subclass = `${t.subclass.module}.${t.subclass.name}`;
    // torch describes `dict(t.__dict__)`: an empty dict when nothing was set.
    d.attrs = t.state === undefined ? {} : recurse(t.state);
  }
  return d;
}

function storageKey(s: Storage, layout: CheckpointLayout | undefined): JsonValue {
  return layout === "tar" && /^-?(?:0|[1-9][0-9]*)$/.test(s.key) ? Number(s.key) : s.key;
}

/** `t.tolist()` of a 1-d tensor (per-channel scales and zero points), as plain JSON numbers. */
function plainNumbers(t: Tensor): JsonValue {
  return Array.from(tensorTypedArray(t) as ArrayLike<number | bigint>, (x) => Number(x));
}

function ndarrayJson(a: NdArray): JsonValue {
  if (a.data === undefined) throw new Error("a numpy object array has no raw bytes the skeleton format can hash");
  const out: { [key: string]: JsonValue } = {
    dtype: a.descr, shape: a.shape, fortran: a.fortranOrder, sha256: createHash("sha256").update(a.data).digest("hex"),
  };
  if (a.fields !== undefined) out.fields = fieldsJson(a.fields);
  return { $ndarray: out };
}

/** A structured dtype's fields with the keys fixtures/gen_torch.py's numpy_fields writes. */
function fieldsJson(fields: readonly NdField[]): JsonValue {
  return fields.map((f) => ({
    name: f.name, offset: f.offset,
    ...(f.shape === undefined ? {} : { shape: f.shape }),
    descr: f.descr,
    ...(f.fields === undefined ? {} : { fields: fieldsJson(f.fields) }),
    ...(f.title === undefined ? {} : { title: f.title }),
  }));
}

/** A bare storage as a value: torchsave's own tag (no fixture's skeleton holds one). */
function storageJson(s: Storage): JsonValue {
  return { $storage: s.key };
}
