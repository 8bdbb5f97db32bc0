/**
 * Tensors from JavaScript data: typed arrays and nested number arrays become tensors with their own
 * storage (`tensor`, `parameter`), or views over another tensor's storage (`tensorView`).
 */
import { CheckpointError } from "../errors.js";
import type { KeyPath } from "../errors.js";
import type { PyGlobal } from "../pickle/value.js";
import { pyGlobal } from "../pickle/value.js";
import { dtypeByName } from "./dtypes.js";
import type { DTypeInfo, DTypeName } from "./dtypes.js";
import { float32ToBfloat16, float32ToFloat16 } from "./float-convert.js";
import type { Storage, Tensor } from "./model.js";
import { contiguousStrides, tensorExtent } from "./tensor-data.js";

/** Typed arrays the builder turns into tensors. */
export type TypedArrayInput =
  | Float64Array | Float32Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint8ClampedArray | Uint16Array | Uint32Array | BigUint64Array;

/** Numbers (or bools, or bigints) nested in arrays, as `torch.tensor([[1, 2], [3, 4]])` takes them. */
export type NestedNumbers = readonly (number | bigint | boolean | NestedNumbers)[];

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

export function isTypedArray(v: unknown): v is TypedArrayInput {
  return ArrayBuffer.isView(v) && !(v instanceof DataView) && CTOR_DTYPE[(v as object).constructor.name] !== undefined;
}

/** A typed error for a bad builder input at a key path. */
export function fail(path: KeyPath, reason: string): CheckpointError {
  return new CheckpointError("invalid-argument", reason, path.length > 0 ? { path } : {});
}
