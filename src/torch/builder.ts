/**
 * Building checkpoints from plain JavaScript: objects, arrays and Maps become dicts and lists,
 * typed arrays become tensors, and small wrappers settle what JavaScript cannot say on its own
 * (1.0 is a float, this array is a tuple, these bytes are `bytes`, this dict is an OrderedDict).
 *
 * ```ts
 * const ckpt = toTorchValue({
 *   model: stateDict({ "fc.weight": tensor(new Float32Array(6), { shape: [2, 3] }), "fc.bias": new Float32Array(2) }),
 *   epoch: 3,
 *   lr: asFloat(1),             // 1.0, not 1
 *   betas: asTuple(0.9, 0.999),
 * });
 * writeCheckpoint(ckpt);
 * ```
 */
import { CheckpointError } from "../errors.js";
import type { KeyPath } from "../errors.js";
import { normalizeInt } from "../bytes/bigint.js";
import type { PyBytes, PyDict, PyFloat, PyGlobal, PyValue } from "../pickle/value.js";
import { ORDERED_DICT, pyBytes, pyFloat, pyGlobal, pyKind } from "../pickle/value.js";
import { dtypeByName } from "./dtypes.js";
import type { DTypeInfo, DTypeName } from "./dtypes.js";
import { float32ToBfloat16, float32ToFloat16 } from "./float-convert.js";
import type { Storage, Tensor, TorchHost, TorchValue } from "./model.js";
import { isNdArray, isStorage, isTensor } from "./model.js";
import { tensorExtent } from "./tensor-data.js";

/** Typed arrays the builder turns into tensors. */
export type TypedArrayInput =
  | Float64Array | Float32Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint8ClampedArray | Uint16Array | Uint32Array | BigUint64Array;

/** Numbers (or bools, or bigints) nested in arrays, as `torch.tensor([[1, 2], [3, 4]])` takes them. */
export type NestedNumbers = readonly (number | bigint | boolean | NestedNumbers)[];

/** What {@link toTorchValue} accepts. Value-model shapes and tensors pass through unchanged. */
export type BuildInput =
  | null
  | undefined
  | boolean
  | number
  | bigint
  | string
  | TypedArrayInput
  | readonly BuildInput[]
  | ReadonlyMap<BuildInput, BuildInput>
  | BuildWrapper
  | TorchValue
  | { readonly [key: string]: BuildInput };

const WRAP: unique symbol = Symbol("torchsave.build");

/** A wrapper made by {@link asTuple}, {@link asSet} or {@link asOrderedDict}. */
export interface BuildWrapper {
  readonly [WRAP]: "tuple" | "set" | "frozenset" | "ordered";
  readonly items: readonly BuildInput[] | readonly (readonly [BuildInput, BuildInput])[];
}

/** A Python float even when the number is whole: `asFloat(1)` is `1.0`. */
export const asFloat = (value: number): PyFloat => pyFloat(value);

/** A Python tuple (a JS array is a list). */
export const asTuple = (...items: BuildInput[]): BuildWrapper => ({ [WRAP]: "tuple", items });

/** A Python set (or frozenset). */
export const asSet = (items: Iterable<BuildInput>, frozen = false): BuildWrapper => ({ [WRAP]: frozen ? "frozenset" : "set", items: [...items] });

/** Python `bytes` (a Uint8Array alone becomes a uint8 tensor). Text is encoded as latin-1. */
export function asBytes(data: Uint8Array | string): PyBytes {
  if (typeof data !== "string") return pyBytes(data);
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const c = data.charCodeAt(i);
    if (c > 255) throw new CheckpointError("invalid-argument", "asBytes text must be latin-1 (code points below 256)");
    out[i] = c;
  }
  return pyBytes(out);
}

/** A `collections.OrderedDict` (what state_dicts are); a plain object or Map is a dict. */
export function asOrderedDict(entries: ReadonlyMap<BuildInput, BuildInput> | { readonly [key: string]: BuildInput }): BuildWrapper {
  const items = entries instanceof Map ? [...entries] : Object.entries(entries);
  return { [WRAP]: "ordered", items };
}

/** Options of {@link toTorchValue}. */
export interface BuildOptions {
  /** What plain objects and Maps become: "dict" (default) or "ordered" (`collections.OrderedDict`). */
  readonly dicts?: "dict" | "ordered";
}

/**
 * Converts plain JavaScript into the value model: null/undefined → None; booleans, strings and
 * bigints as they are; whole numbers → int, other numbers (and NaN, ±Infinity) → float; arrays →
 * list; plain objects and Maps → dict; typed arrays → 1-D tensors (see {@link tensor}); the
 * wrappers above; value-model shapes and tensors pass through unchanged. An object reached twice
 * becomes one Python object referenced twice (cycles included).
 *
 * A plain object whose `kind` field names a value-model shape (`{kind: "float", value: 1}`) is
 * taken as that shape; build such a dict from a Map instead.
 * @throws CheckpointError `invalid-argument` with the key path of a value it cannot convert
 *   (functions, class instances, unhashable dict keys).
 */
export function toTorchValue(input: BuildInput, options: BuildOptions = {}): TorchValue {
  const ordered = options.dicts === "ordered";
  const done = new Map<object, TorchValue>();
  const tasks: (() => void)[] = [];
  const convert = (v: BuildInput, at: Link): TorchValue => {
    if (v === null || v === undefined) return null;
    switch (typeof v) {
      case "boolean":
      case "string":
        return v;
      case "number":
        return Number.isInteger(v) && !Object.is(v, -0) ? v : pyFloat(v);
      case "bigint":
        return normalizeInt(v);
      case "object":
        break;
      default:
        throw fail(pathOf(at), `a ${typeof v} cannot be pickled`);
    }
    const seen = done.get(v);
    if (seen !== undefined) return seen;
    if (isTypedArray(v)) return remember(v, tensor(v));
    if (isTensor(v) || isStorage(v) || isNdArray(v) || pyKind(v) !== undefined) return v as TorchValue;
    if (WRAP in v) return wrapper(v as BuildWrapper, at);
    if (Array.isArray(v)) {
      const items: PyValue<TorchHost>[] = [];
      const out = remember(v, { kind: "list", items });
      (v as readonly BuildInput[]).forEach((x, i) => tasks.push(() => items.push(convert(x, { parent: at, step: i }))));
      return out;
    }
    if (v instanceof Map) return dict(v, [...v], at, ordered);
    const proto = Object.getPrototypeOf(v) as unknown;
    if (proto === Object.prototype || proto === null) return dict(v, Object.entries(v), at, ordered);
    throw fail(pathOf(at), `a ${(v as object).constructor?.name ?? "object"} is not a plain object, array, Map or typed array`);
  };
  const remember = <T extends TorchValue>(key: object, value: T): T => {
    done.set(key, value);
    return value;
  };
  const dict = (key: object, entries: readonly (readonly [BuildInput, BuildInput])[], at: Link, asOrdered: boolean): PyDict<TorchHost> => {
    const out: PyDict<TorchHost> = asOrdered ? { kind: "dict", entries: [], type: ORDERED_DICT } : { kind: "dict", entries: [] };
    remember(key, out);
    entries.forEach(([k, x], i) => {
      const here: Link = { parent: at, step: typeof k === "string" || typeof k === "number" ? k : i };
      tasks.push(() => {
        const pk = convert(k, here);
        if (!isHashable(pk)) throw fail(pathOf(here), "dict keys must be hashable (str, int, float, bool, None, bytes, tuple)");
        out.entries.push([pk, convert(x, here)]);
      });
    });
    return out;
  };
  const wrapper = (w: BuildWrapper, at: Link): TorchValue => {
    const kind = w[WRAP];
    if (kind === "ordered") return dict(w, w.items as readonly (readonly [BuildInput, BuildInput])[], at, true);
    const items: PyValue<TorchHost>[] = [];
    const out = remember(w, { kind, items } as TorchValue);
    (w.items as readonly BuildInput[]).forEach((x, i) => tasks.push(() => items.push(convert(x, { parent: at, step: i }))));
    return out;
  };
  const root = convert(input, undefined);
  // Children are filled from a queue, so deep nesting never grows the JS stack.
  for (let i = 0; i < tasks.length; i++) {
    tasks[i]!();
    if (i >= 65536) {
      tasks.splice(0, i + 1);
      i = -1;
    }
  }
  return root;
}

/** A key path kept as links to the parent, materialized only for an error message. */
type Link = { readonly parent: Link; readonly step: string | number } | undefined;

function pathOf(link: Link): KeyPath {
  const out: (string | number)[] = [];
  for (let l = link; l !== undefined; l = l.parent) out.push(l.step);
  return out.reverse();
}

/**
 * A state_dict: an OrderedDict from parameter names to tensors (typed arrays are made 1-D tensors;
 * other values are converted as {@link toTorchValue} does).
 */
export function stateDict(entries: ReadonlyMap<string, BuildInput> | { readonly [key: string]: BuildInput }): PyDict<TorchHost> {
  return toTorchValue(asOrderedDict(entries)) as PyDict<TorchHost>;
}

/** Options of {@link tensor} and {@link parameter}; every field optional. */
export interface TensorOptions {
  /** Default: `[n]` for a typed array of n elements; inferred for nested arrays. */
  readonly shape?: readonly number[];
  /** Default: from the typed array (Float32Array → float32, BigInt64Array → int64, ...) or, for nested arrays, bool / int64 / float32 as torch.tensor infers. */
  readonly dtype?: DTypeName;
  /** Default false (true for {@link parameter}). */
  readonly requiresGrad?: boolean;
  /** The device string saved with the storage. Default "cpu". */
  readonly device?: string;
  /**
   * Copy the bytes instead of viewing them. Default false: a typed array whose layout already is
   * the dtype's is used as is, so changing it later changes what is written.
   */
  readonly copy?: boolean;
}

const CTOR_DTYPE: Readonly<Record<string, DTypeName>> = {
  Float64Array: "float64", Float32Array: "float32", Int8Array: "int8", Int16Array: "int16", Int32Array: "int32",
  BigInt64Array: "int64", Uint8Array: "uint8", Uint8ClampedArray: "uint8", Uint16Array: "uint16", Uint32Array: "uint32",
  BigUint64Array: "uint64",
};

/**
 * A contiguous tensor with its own storage. Typed arrays that already hold the dtype's bytes are
 * viewed (float16/bfloat16 as Uint16Array bit patterns, complex as interleaved Float32Array /
 * Float64Array, and a Uint8Array as the raw stored bytes of any dtype); other inputs are converted value by value
 * (numbers to float16, bfloat16, floats and integers of any width; float8, quantized and sub-byte
 * dtypes take raw bytes only). quint4x2 and quint2x4 shapes count packed values (2 or 4 per
 * byte); float4_e2m1fn_x2 shapes count bytes, as in torch.
 * @throws CheckpointError `invalid-argument` for a shape that does not match the data, an unknown
 *   dtype, an integer out of the dtype's range, or a ragged nested array.
 */
export function tensor(data: TypedArrayInput | NestedNumbers, options: TensorOptions = {}): Tensor {
  const { bytes, dtype, count } = tensorBytesOf(data, options);
  const shape = options.shape === undefined ? (isTypedArray(data) ? [count] : inferShape(data as NestedNumbers)) : [...options.shape];
  checkShape(shape, count);
  const device = options.device ?? "cpu";
  if (typeof device !== "string" || device.length === 0) throw fail([], "device must be a non-empty string");
  const info = dtypeByName(dtype)!;
  const storageType: PyGlobal = info.storageClass !== undefined ? pyGlobal("torch", info.storageClass) : pyGlobal("torch.storage", "UntypedStorage");
  const storage: Storage = {
    kind: "storage", key: "", storageType, dtype, location: device,
    declaredNumel: info.storageClass !== undefined ? count : bytes.length, byteLength: bytes.length, byteOrder: "little", data: bytes,
  };
  return {
    kind: "tensor", dtype, shape, stride: contiguousStrides(shape), storageOffset: 0, storage, device,
    requiresGrad: options.requiresGrad ?? false, isParameter: false, layout: "strided",
  };
}

/** An `nn.Parameter` ({@link tensor} with `requiresGrad` defaulting to true). */
export function parameter(data: TypedArrayInput | NestedNumbers, options: TensorOptions = {}): Tensor {
  return { ...tensor(data, { ...options, requiresGrad: options.requiresGrad ?? true }), isParameter: true };
}

/**
 * Another view of `base`'s storage (as `base.view`, `as_strided` or slicing make): the two share
 * bytes, and the writer stores them once.
 * @throws CheckpointError `invalid-argument` when `base` has no storage, or `invalid-data` when
 *   the view reaches outside the storage.
 */
export function tensorView(
  base: Tensor, shape: readonly number[], options: { readonly stride?: readonly number[]; readonly offset?: number; readonly requiresGrad?: boolean } = {},
): Tensor {
  if (base.storage === undefined) throw fail([], "tensorView needs a tensor with a storage");
  const stride = options.stride === undefined ? contiguousStrides(shape) : [...options.stride];
  if (stride.length !== shape.length || !shape.every((d) => Number.isSafeInteger(d) && d >= 0) || !stride.every(Number.isSafeInteger)) {
    throw fail([], `bad view shape [${shape.join(", ")}] / stride [${stride.join(", ")}]`);
  }
  const offset = options.offset ?? base.storageOffset;
  if (!Number.isSafeInteger(offset) || offset < 0) throw fail([], `bad storage offset ${String(offset)}`);
  const view: Tensor = {
    kind: "tensor", dtype: base.dtype, shape: [...shape], stride, storageOffset: offset, storage: base.storage,
    device: base.device, requiresGrad: options.requiresGrad ?? false, isParameter: false, layout: "strided",
  };
  tensorExtent(view); // throws when the view reaches outside the storage
  return view;
}

function contiguousStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= Math.max(shape[i]!, 1);
  }
  return out;
}

function checkShape(shape: readonly number[], count: number): void {
  if (!shape.every((d) => Number.isSafeInteger(d) && d >= 0)) throw fail([], `bad shape [${shape.join(", ")}]`);
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== count) throw fail([], `shape [${shape.join(", ")}] holds ${n} elements, the data ${count}`);
}

function tensorBytesOf(data: TypedArrayInput | NestedNumbers, options: TensorOptions): { bytes: Uint8Array; dtype: DTypeName; count: number } {
  if (isTypedArray(data)) {
    const natural = CTOR_DTYPE[data.constructor.name]!;
    const dtype = options.dtype ?? natural;
    const info = dtypeOf(dtype);
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    if (holdsRaw(data, info)) {
      if (raw.length % info.itemSize !== 0) throw fail([], `${raw.length} bytes is not a whole number of ${dtype} elements`);
      // quint4x2/quint2x4 shapes count packed values, several per byte (float4_e2m1fn_x2 counts bytes), as torch and the reader do.
      const packing = info.kind === "quantized" ? info.packing ?? 1 : 1;
      return { bytes: options.copy === true ? raw.slice() : raw, dtype, count: (raw.length / info.itemSize) * packing };
    }
    return encodeValues(data as ArrayLike<number | bigint>, info);
  }
  if (!Array.isArray(data)) throw fail([], "tensor data must be a typed array or a (nested) array of numbers");
  const flat: (number | bigint | boolean)[] = [];
  flatten(data, flat);
  const dtype = options.dtype ?? inferDtype(flat);
  return encodeValues(flat, dtypeOf(dtype));
}

function dtypeOf(name: string): DTypeInfo {
  const info = dtypeByName(name);
  if (info === undefined) throw fail([], `unknown dtype ${JSON.stringify(name)}`);
  return info;
}

/** True when the typed array already is the dtype's stored form. */
function holdsRaw(data: TypedArrayInput, info: DTypeInfo): boolean {
  const ctor = data.constructor.name;
  if (info.typedArray !== undefined && info.typedArray === ctor) return true;
  // Bytes are bytes: a Uint8Array is the stored form of any dtype.
  if (ctor === "Uint8Array" || ctor === "Uint8ClampedArray") return true;
  if (ctor === "Uint16Array") return info.name === "float16" || info.name === "bfloat16" || info.name === "bits16";
  return false;
}

function encodeValues(values: ArrayLike<number | bigint | boolean>, info: DTypeInfo): { bytes: Uint8Array; dtype: DTypeName; count: number } {
  const n = values.length;
  const complex = info.kind === "complex";
  if (complex && n % 2 !== 0) throw fail([], "complex values are given as interleaved (real, imag) pairs");
  const count = complex ? n / 2 : n;
  const width = complex ? info.scalarSize : info.itemSize;
  const bytes = new Uint8Array(n * width);
  const view = new DataView(bytes.buffer);
  const num = (i: number): number => {
    const v = values[i]!;
    return typeof v === "bigint" ? Number(v) : typeof v === "boolean" ? (v ? 1 : 0) : v;
  };
  const int = (i: number, lo: bigint, hi: bigint): bigint => {
    const v = values[i]!;
    const b = typeof v === "bigint" ? v : typeof v === "boolean" ? (v ? 1n : 0n) : Number.isInteger(v) ? BigInt(v) : undefined;
    if (b === undefined || b < lo || b > hi) throw fail([i], `${String(v)} is not a ${info.name} value`);
    return b;
  };
  const range = (bits: number, signed: boolean): [bigint, bigint] =>
    signed ? [-(1n << BigInt(bits - 1)), (1n << BigInt(bits - 1)) - 1n] : [0n, (1n << BigInt(bits)) - 1n];
  for (let i = 0; i < n; i++) {
    const at = i * width;
    switch (info.name) {
      case "float64":
      case "complex128":
        view.setFloat64(at, num(i), true);
        break;
      case "float32":
      case "complex64":
        view.setFloat32(at, num(i), true);
        break;
      case "float16":
      case "complex32":
        view.setUint16(at, float32ToFloat16(num(i)), true);
        break;
      case "bfloat16":
        view.setUint16(at, float32ToBfloat16(num(i)), true);
        break;
      case "bool":
        bytes[at] = num(i) !== 0 ? 1 : 0;
        break;
      case "int8":
      case "int16":
      case "int32":
      case "int64":
      case "uint8":
      case "uint16":
      case "uint32":
      case "uint64": {
        const signed = info.kind === "int";
        const [lo, hi] = range(info.itemSize * 8, signed);
        const v = int(i, lo, hi);
        if (info.itemSize === 8) {
          if (signed) view.setBigInt64(at, v, true);
          else view.setBigUint64(at, v, true);
        } else {
          // Little-endian bytes of the two's complement value.
          let x = v < 0n ? v + (1n << BigInt(info.itemSize * 8)) : v;
          for (let k = 0; k < info.itemSize; k++, x >>= 8n) bytes[at + k] = Number(x & 0xffn);
        }
        break;
      }
      default:
        throw fail([], `${info.name} tensors take raw bytes: pass a Uint8Array of the stored form`);
    }
  }
  return { bytes, dtype: info.name, count };
}

function inferDtype(flat: readonly (number | bigint | boolean)[]): DTypeName {
  if (flat.length > 0 && flat.every((v) => typeof v === "boolean")) return "bool";
  if (flat.every((v) => typeof v === "bigint" || typeof v === "boolean" || Number.isInteger(v))) return flat.length === 0 ? "float32" : "int64";
  return "float32";
}

function flatten(data: NestedNumbers, out: (number | bigint | boolean)[]): void {
  // Depth first in order, without recursion.
  const walk: (number | bigint | boolean | NestedNumbers)[] = [data];
  while (walk.length > 0) {
    const v = walk.pop()!;
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) walk.push(v[i] as number | bigint | boolean | NestedNumbers);
    } else if (typeof v === "number" || typeof v === "bigint" || typeof v === "boolean") {
      out.push(v);
    } else {
      throw fail([], "nested tensor data may hold only numbers, bigints and booleans");
    }
  }
}

/** The shape of a rectangular nested array (every branch is checked). */
function inferShape(data: NestedNumbers): number[] {
  const shape: number[] = [];
  for (let level: unknown = data; Array.isArray(level); level = level[0]) shape.push(level.length);
  const walk: { v: unknown; depth: number }[] = [{ v: data, depth: 0 }];
  while (walk.length > 0) {
    const { v, depth } = walk.pop()!;
    const leaf = depth === shape.length;
    if (leaf ? Array.isArray(v) : !Array.isArray(v) || v.length !== shape[depth]) throw fail([], "nested tensor data is ragged");
    if (!leaf) for (const x of v as unknown[]) walk.push({ v: x, depth: depth + 1 });
  }
  return shape;
}

function isTypedArray(v: unknown): v is TypedArrayInput {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && CTOR_DTYPE[(v as object).constructor.name] !== undefined;
}

function isHashable(v: TorchValue): boolean {
  if (v === null || typeof v !== "object") return true;
  const k = pyKind(v);
  if (k === "tuple") return (v as { items: TorchValue[] }).items.every(isHashable);
  return k === "float" || k === "complex" || k === "bytes" || k === "frozenset" || k === "global";
}

function fail(path: KeyPath, reason: string): CheckpointError {
  return new CheckpointError("invalid-argument", reason, path.length > 0 ? { path } : {});
}
