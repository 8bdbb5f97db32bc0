/**
 * The allow-list: the `module.name` globals whose calls the reader interprets, each rebuilding a
 * tensor (or a related value) as plain data. Nothing is ever executed; a call to any other global
 * stays an inert `PyObject`, still walkable. Signatures follow `torch/_utils.py` and
 * `torch/_tensor.py` (torch 1.13 through 2.x).
 */
import { CheckpointError } from "../../errors.js";
import type { Reducer, ReduceContext, ReducerRegistry } from "../../pickle/decoder.js";
import { builtinReducers } from "../../pickle/reducers.js";
import type { PyDict, PyGlobal, PyObject, PyTuple } from "../../pickle/value.js";
import { isOrderedDict, isPyGlobal, pyKind } from "../../pickle/value.js";
import { argBool, argFloat, argGlobal, argInt, argInts, argStorage, argStr, argTensor, argTuple, describe } from "./args.js";
import { dtypeByName } from "../dtypes.js";
import type { DTypeName } from "../dtypes.js";
import type { Quantization, SparseParts, Storage, Tensor, TensorLayout, TorchHost, TorchValue } from "../model.js";
import { isTensor } from "../model.js";
import { numpyReducers } from "../../numpy/numpy.js";

type TorchReducer = Reducer<TorchHost>;
type Ctx = ReduceContext<TorchHost>;

const origin = (ctx: Ctx, args: TorchValue): PyObject<TorchHost> => ({ kind: "object", via: ctx.via, callable: ctx.callable, args });

function strided(
  storage: Storage, offsetArg: TorchValue | undefined, sizeArg: TorchValue | undefined, strideArg: TorchValue | undefined,
  fn: string, ctx: Ctx, args: TorchValue, dtype: DTypeName = storage.dtype, standard = false,
): Tensor {
  // A standard call's size and stride tuples are referenced nowhere else: their items become the shape and stride.
  const shape = standard ? (sizeArg as PyTuple<TorchHost>).items as number[] : argInts(sizeArg, fn, "size", ctx.offset);
  const stride = standard ? (strideArg as PyTuple<TorchHost>).items as number[] : argInts(strideArg, fn, "stride", ctx.offset);
  const storageOffset = argInt(offsetArg, fn, "storage_offset", ctx.offset);
  if (shape.length !== stride.length) {
    throw new CheckpointError("invalid-data", `${fn}: size has ${shape.length} dims but stride has ${stride.length}`, { offset: ctx.offset });
  }
  let negative = storageOffset < 0;
  for (let i = 0; i < shape.length; i++) if (shape[i]! < 0) negative = true;
  if (negative) throw new CheckpointError("invalid-data", `${fn}: negative size or storage offset`, { offset: ctx.offset });
  if (standard) {
    return { kind: "tensor", dtype, shape, stride, storageOffset, storage, device: storage.location, requiresGrad: false, isParameter: false, layout: "strided" };
  }
  return {
    kind: "tensor", dtype, shape, stride, storageOffset, storage, device: storage.location,
    requiresGrad: false, isParameter: false, layout: "strided", origin: origin(ctx, args),
  };
}

/** `torch.float32` and friends arrive as GLOBAL torch.<name>; returns our dtype name. */
export function dtypeFromGlobal(v: TorchValue | undefined, fn: string, offset: number): DTypeName {
  const g = argGlobal(v, fn, "dtype", offset);
  const info = g.module === "torch" ? dtypeByName(g.name) : undefined;
  if (info === undefined) throw new CheckpointError("unsupported", `${fn}: unknown dtype ${g.module}.${g.name}`, { offset });
  return info.name;
}

function layoutFrom(v: TorchValue | undefined, fn: string, offset: number): TensorLayout {
  // Layouts pickle as `torch.serialization._get_layout("torch.sparse_coo")` (kept inert) or as GLOBAL torch.sparse_coo.
  let name: string | undefined;
  if (isPyGlobal(v)) name = v.name;
  else if (pyKind(v) === "object") {
    const o = v as PyObject<TorchHost>;
    const a = pyKind(o.args) === "tuple" ? (o.args as { items: TorchValue[] }).items[0] : undefined;
    if (typeof a === "string") name = a.replace(/^torch\./, "");
  }
  const layouts: readonly TensorLayout[] = ["strided", "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc"];
  const found = layouts.find((l) => l === name);
  if (found === undefined) throw new CheckpointError("unsupported", `${fn}: unknown layout ${describe(v)}`, { offset });
  return found;
}

const withGrad = (t: Tensor, requiresGrad: boolean): Tensor => {
  t.requiresGrad = requiresGrad;
  return t;
};

type StorageArg = (v: TorchValue | undefined, fn: string, offset: number) => Storage;

const rebuildTensor = (storageArg: StorageArg): TorchReducer => ({
  call(args, ctx) {
    const fn = "_rebuild_tensor";
    const a = argTuple(args, fn, 4, ctx.offset);
    return strided(storageArg(a[0], fn, ctx.offset), a[1], a[2], a[3], fn, ctx, args);
  },
});

const rebuildTensorV2 = (storageArg: StorageArg): TorchReducer => ({
  call(args, ctx) {
    const fn = "_rebuild_tensor_v2";
    const a = argTuple(args, fn, 6, ctx.offset);
    const storage = storageArg(a[0], fn, ctx.offset);
    const t = strided(storage, a[1], a[2], a[3], fn, ctx, args, storage.dtype, isStandardTensorV2(args, storage, ctx));
    return withGrad(t, argBool(a[4], fn, "requires_grad", ctx.offset));
  },
});

const rebuildTensorV3 = (storageArg: StorageArg): TorchReducer => ({
  call(args, ctx) {
    const fn = "_rebuild_tensor_v3";
    const a = argTuple(args, fn, 7, ctx.offset);
    const storage = storageArg(a[0], fn, ctx.offset);
    const dtype = dtypeFromGlobal(a[6], fn, ctx.offset);
    // An UntypedStorage learns its element type from the first tensor that views it.
    if (storage.dtype === "uint8" && storage.storageType.name === "UntypedStorage") storage.dtype = dtype;
    const t = strided(storage, a[1], a[2], a[3], fn, ctx, args, dtype);
    return withGrad(t, argBool(a[4], fn, "requires_grad", ctx.offset));
  },
});

function parameter(fn: string, withState: boolean): TorchReducer {
  return {
    call(args, ctx) {
      const a = argTuple(args, fn, withState ? 4 : 3, ctx.offset);
      const data = argTensor(a[0], fn, "data", ctx.offset);
      const requiresGrad = argBool(a[1], fn, "requires_grad", ctx.offset);
      if (!withState && isStandardParameter(args, data, ctx)) {
        // The call torch.save writes for a plain Parameter: the tensor says it all (see isStandardTensorV2).
        data.requiresGrad = requiresGrad;
        data.isParameter = true;
        return data;
      }
      const param: Tensor = {
        ...data,
        requiresGrad,
        isParameter: true,
        origin: origin(ctx, args),
        ...(withState && a[3] !== undefined ? { state: a[3] } : {}),
      };
      return param;
    },
  };
}

/**
 * True for the call torch.save writes for a plain tensor,
 * `_rebuild_tensor_v2(storage, offset, (size...), (stride...), requires_grad, OrderedDict())`, when
 * none of its parts is referenced anywhere else in the pickle. Such a tensor keeps no `origin`: the
 * writer rebuilds the identical call from the tensor's fields, so nothing is lost, and the reader
 * skips the five objects per tensor that `origin` would keep alive.
 */
function isStandardTensorV2(args: TorchValue, storage: Storage, ctx: Ctx): boolean {
  const shared = ctx.shared;
  if (shared === undefined || ctx.via !== "reduce" || shared(args)) return false;
  const a = (args as PyTuple<TorchHost>).items;
  if (a.length !== 6 || pyKind(args) !== "tuple" || storage.storageType.name === "UntypedStorage") return false;
  return typeof a[1] === "number" && isIntTuple(a[2], shared) && isIntTuple(a[3], shared) && typeof a[4] === "boolean" &&
    isEmptyHooks(a[5], shared);
}

/**
 * True for `_rebuild_parameter(tensor, requires_grad, OrderedDict())` over a standard tensor that
 * nothing else references: the Parameter is that tensor, marked, with no `origin` either.
 */
function isStandardParameter(args: TorchValue, data: Tensor, ctx: Ctx): boolean {
  const shared = ctx.shared;
  if (shared === undefined || ctx.via !== "reduce" || shared(args) || pyKind(args) !== "tuple") return false;
  const a = (args as PyTuple<TorchHost>).items;
  return a.length === 3 && data.origin === undefined && !data.isParameter && !data.requiresGrad && !shared(data) &&
    typeof a[1] === "boolean" && isEmptyHooks(a[2], shared);
}

/** An unshared tuple of non-negative ints (what torch writes for sizes and strides). */
function isIntTuple(v: TorchValue | undefined, shared: (v: TorchValue) => boolean): boolean {
  if (pyKind(v) !== "tuple" || shared(v!)) return false;
  const items = (v as PyTuple<TorchHost>).items;
  for (let i = 0; i < items.length; i++) {
    const x = items[i];
    if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) return false;
  }
  return true;
}

/** An unshared, empty `OrderedDict()` with no attributes: the backward hooks torch writes. */
function isEmptyHooks(v: TorchValue | undefined, shared: (v: TorchValue) => boolean): boolean {
  if (pyKind(v) !== "dict" || shared(v!)) return false;
  const d = v as PyDict<TorchHost>;
  return d.entries.length === 0 && d.state === undefined && d.type !== undefined && isOrderedDict(d);
}

const rebuildQTensor: TorchReducer = {
  call(args, ctx) {
    const fn = "_rebuild_qtensor";
    const a = argTuple(args, fn, 7, ctx.offset);
    const storage = argStorage(a[0], fn, ctx.offset);
    const q = argTuple(a[4] ?? null, fn, 1, ctx.offset);
    const scheme = argGlobal(q[0], fn, "qscheme", ctx.offset).name;
    let quantization: Quantization;
    if (scheme === "per_tensor_affine" || scheme === "per_tensor_symmetric") {
      quantization = { scheme, scale: argFloat(q[1], fn, "scale", ctx.offset), zeroPoint: argInt(q[2], fn, "zero_point", ctx.offset) };
    } else if (scheme === "per_channel_affine" || scheme === "per_channel_symmetric" || scheme === "per_channel_affine_float_qparams") {
      quantization = {
        scheme,
        scales: argTensor(q[1], fn, "scales", ctx.offset),
        zeroPoints: argTensor(q[2], fn, "zero_points", ctx.offset),
        axis: argInt(q[3], fn, "axis", ctx.offset),
      };
    } else {
      throw new CheckpointError("unsupported", `${fn}: unknown qscheme ${scheme}`, { offset: ctx.offset });
    }
    const t = strided(storage, a[1], a[2], a[3], fn, ctx, args);
    return { ...t, requiresGrad: argBool(a[5], fn, "requires_grad", ctx.offset), quantization };
  },
};

function sparse(fn: string): TorchReducer {
  return {
    call(args, ctx) {
      const a = argTuple(args, fn, 2, ctx.offset);
      const layout = layoutFrom(a[0], fn, ctx.offset);
      const data = argTuple(a[1] ?? null, fn, 3, ctx.offset);
      let parts: SparseParts;
      let values: Tensor;
      if (layout === "sparse_coo") {
        values = argTensor(data[1], fn, "values", ctx.offset);
        const c = data[3];
        parts = {
          indices: argTensor(data[0], fn, "indices", ctx.offset), values,
          size: argInts(data[2], fn, "size", ctx.offset),
          isCoalesced: c === undefined || c === null ? null : argBool(c, fn, "is_coalesced", ctx.offset),
        };
      } else {
        values = argTensor(data[2], fn, "values", ctx.offset);
        parts = {
          compressedIndices: argTensor(data[0], fn, "compressed_indices", ctx.offset),
          plainIndices: argTensor(data[1], fn, "plain_indices", ctx.offset),
          values, size: argInts(data[3], fn, "size", ctx.offset),
        };
      }
      return {
        kind: "tensor", dtype: values.dtype, shape: parts.size, stride: [], storageOffset: 0, device: values.device,
        requiresGrad: false, isParameter: false, layout, sparse: parts, origin: origin(ctx, args),
      };
    },
  };
}

/** Storage-less tensors: meta tensors and wrapper subclasses. */
const rebuildMeta: TorchReducer = {
  call(args, ctx) {
    const fn = "_rebuild_meta_tensor_no_storage";
    const a = argTuple(args, fn, 4, ctx.offset);
    return {
      kind: "tensor", dtype: dtypeFromGlobal(a[0], fn, ctx.offset), shape: argInts(a[1], fn, "size", ctx.offset),
      stride: argInts(a[2], fn, "stride", ctx.offset), storageOffset: 0, device: "meta",
      requiresGrad: argBool(a[3], fn, "requires_grad", ctx.offset), isParameter: false, layout: "strided", origin: origin(ctx, args),
    };
  },
};

const rebuildWrapperSubclass: TorchReducer = {
  call(args, ctx) {
    const fn = "_rebuild_wrapper_subclass";
    const a = argTuple(args, fn, 8, ctx.offset);
    return {
      kind: "tensor", subclass: argGlobal(a[0], fn, "cls", ctx.offset), dtype: dtypeFromGlobal(a[1], fn, ctx.offset),
      shape: argInts(a[2], fn, "size", ctx.offset), stride: argInts(a[3], fn, "stride", ctx.offset),
      storageOffset: argInt(a[4], fn, "storage_offset", ctx.offset), layout: layoutFrom(a[5], fn, ctx.offset),
      device: deviceString(a[6]), requiresGrad: argBool(a[7], fn, "requires_grad", ctx.offset), isParameter: false,
      origin: origin(ctx, args),
    };
  },
};

/** `torch.device("cuda", 0)` pickles as an inert object; "cuda:0" as text. */
export function deviceString(v: TorchValue | undefined): string {
  if (typeof v === "string") return v;
  if (pyKind(v) === "object") {
    const a = (v as PyObject<TorchHost>).args;
    const items = pyKind(a) === "tuple" ? (a as { items: TorchValue[] }).items : [];
    const [type, index] = items;
    if (typeof type === "string") return typeof index === "number" ? `${type}:${index}` : type;
  }
  return "unknown";
}

/** xla/mtia/maia tensors saved through a CPU tensor or a numpy array: the data stays on the CPU copy. */
function deviceFromCpu(fn: string): TorchReducer {
  return {
    call(args, ctx) {
      const a = argTuple(args, fn, 4, ctx.offset);
      const data = a[0];
      if (!isTensor(data)) return undefined; // numpy-backed: keep inert, the array is still reachable.
      return {
        ...data, dtype: dtypeFromGlobal(a[1], fn, ctx.offset), device: deviceString(a[2]),
        requiresGrad: argBool(a[3], fn, "requires_grad", ctx.offset), origin: origin(ctx, args),
      };
    },
  };
}

/** `_rebuild_from_type_v2(func, new_type, args, state)`: apply `func` from this allow-list, then note the subclass. */
function fromType(registry: () => ReducerRegistry<TorchHost>, fn: string): TorchReducer {
  return {
    call(args, ctx) {
      const a = argTuple(args, fn, 4, ctx.offset);
      const func = argGlobal(a[0], fn, "func", ctx.offset);
      const inner = registry()[`${func.module}.${func.name}`];
      if (inner === undefined) return undefined;
      const built = inner.call(a[2] ?? null, { ...ctx, callable: func, via: "reduce" });
      if (!isTensor(built)) return undefined;
      const newType = argGlobal(a[1], fn, "new_type", ctx.offset);
      const plain = newType.module.startsWith("torch") && newType.name === "Tensor";
      const isParameter = newType.name === "Parameter" && newType.module.startsWith("torch.nn");
      const state = a[3];
      const emptyState = state === null || state === undefined || (pyKind(state) === "dict" && (state as { entries: unknown[] }).entries.length === 0);
      return {
        ...built,
        isParameter: built.isParameter || isParameter,
        ...(plain || isParameter ? {} : { subclass: newType }),
        ...(emptyState ? {} : { state: state as TorchValue }),
        origin: origin(ctx, args),
      };
    },
  };
}

/** Hooks the layouts provide: how a storage persistent id or `_load_from_bytes` becomes a Storage. */
export interface RebuildHooks {
  /** Resolves a storage argument that is not already a Storage (burn's synthetic tar files pass the id tuple itself). */
  resolveStorage?: (v: TorchValue) => Storage | undefined;
  /** `torch.storage._load_from_bytes(b)`: a whole legacy torch file inside a plain pickle. */
  loadFromBytes?: (bytes: Uint8Array, offset: number) => TorchValue;
}

/** The registry the checkpoint reader decodes with: pickle builtins, numpy, and torch's rebuilds. */
export function torchReducers(hooks: RebuildHooks = {}): ReducerRegistry<TorchHost> {
  const registry: Record<string, TorchReducer> = { ...builtinReducers<TorchHost>(), ...numpyReducers() };
  const get = () => registry;
  const resolve = hooks.resolveStorage;
  const storageArg: StorageArg = (v, fn, offset) => {
    const found = resolve !== undefined && v !== undefined ? resolve(v) : undefined;
    return found ?? argStorage(v, fn, offset);
  };
  const u = "torch._utils.";
  Object.assign(registry, {
    [`${u}_rebuild_tensor`]: rebuildTensor(storageArg),
    [`${u}_rebuild_tensor_v2`]: rebuildTensorV2(storageArg),
    [`${u}_rebuild_tensor_v3`]: rebuildTensorV3(storageArg),
    [`${u}_rebuild_parameter`]: parameter("_rebuild_parameter", false),
    [`${u}_rebuild_parameter_with_state`]: parameter("_rebuild_parameter_with_state", true),
    [`${u}_rebuild_qtensor`]: rebuildQTensor,
    [`${u}_rebuild_sparse_tensor`]: sparse("_rebuild_sparse_tensor"),
    [`${u}_rebuild_sparse_csr_tensor`]: sparse("_rebuild_sparse_csr_tensor"),
    [`${u}_rebuild_meta_tensor_no_storage`]: rebuildMeta,
    [`${u}_rebuild_wrapper_subclass`]: rebuildWrapperSubclass,
    [`${u}_rebuild_device_tensor_from_cpu_tensor`]: deviceFromCpu("_rebuild_device_tensor_from_cpu_tensor"),
    [`${u}_rebuild_device_tensor_from_numpy`]: deviceFromCpu("_rebuild_device_tensor_from_numpy"),
    [`${u}_rebuild_xla_tensor`]: deviceFromCpu("_rebuild_xla_tensor"),
    "torch._tensor._rebuild_from_type_v2": fromType(get, "_rebuild_from_type_v2"),
    "torch._tensor._rebuild_from_type": fromType(get, "_rebuild_from_type"),
  });
  const loadFromBytes = hooks.loadFromBytes;
  if (loadFromBytes !== undefined) {
    registry["torch.storage._load_from_bytes"] = {
      call(args, ctx) {
        const a = argTuple(args, "_load_from_bytes", 1, ctx.offset);
        const b = a[0];
        if (pyKind(b) !== "bytes") return undefined;
        return loadFromBytes((b as { data: Uint8Array }).data, ctx.offset);
      },
    };
  }
  return registry;
}

/**
 * Globals are looked up by name only, never imported. Torch renamed `torch.tensor` to
 * `torch._tensor`; it maps the old module name on load and so do we.
 */
export function torchFindGlobal(module: string, name: string): PyGlobal {
  return { kind: "global", module: module === "torch.tensor" ? "torch._tensor" : module, name };
}

export { argStr };
