/**
 * Tensor element access: the logical contiguous little-endian bytes of any strided view, typed-array
 * views without copying where layout and alignment allow, and float32 conversions.
 */
import { CheckpointError } from "../errors.js";
import { dtypeByName } from "./dtypes.js";
import type { DTypeInfo } from "./dtypes.js";
import { byteswap, toFloat32Array } from "./float-convert.js";
import type { Storage, Tensor } from "./model.js";
import { loadStorage, readStorageBytesSync, storageBytesSync } from "./storage-bytes.js";

/** Facts about a tensor's extent in its storage, checked against the storage size. */
export interface TensorExtent {
  readonly itemSize: number;
  readonly numel: number;
  /** First and one-past-last byte the view touches (0/0 for empty tensors). */
  readonly startByte: number;
  readonly endByte: number;
  readonly contiguous: boolean;
}

export function dtypeInfo(t: { dtype: string }): DTypeInfo {
  const info = dtypeByName(t.dtype);
  if (info === undefined) throw new CheckpointError("unsupported", `unknown dtype ${t.dtype}`);
  return info;
}

/** Number of elements (1 for a 0-d tensor). */
export const numel = (shape: readonly number[]): number => {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  return n;
};

/** True when strides are C-contiguous for the shape (size-1 dims may have any stride). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const d = shape[i]!;
    if (d === 0) return true;
    if (d !== 1 && stride[i] !== expected) return false;
    expected *= d;
  }
  return true;
}

/**
 * Where the view lives in its storage; throws `invalid-data` when it reaches outside the storage
 * (a damaged or hostile file), so no accessor ever reads out of bounds.
 */
export function tensorExtent(t: Tensor): TensorExtent {
  return extentOf(t, dtypeInfo(t));
}

function extentOf(t: Tensor, info: DTypeInfo): TensorExtent {
  const shape = t.shape;
  const n = numel(shape);
  const contiguous = isContiguous(shape, t.stride);
  if (n === 0) return { itemSize: info.itemSize, numel: 0, startByte: 0, endByte: 0, contiguous };
  const packing = tensorPacking(info);
  if (packing > 1) return packedExtent(t, n, packing, contiguous);
  let lo = t.storageOffset;
  let hi = t.storageOffset;
  for (let i = 0; i < shape.length; i++) {
    const d = shape[i]!;
    const s = t.stride[i]!;
    if (s < 0) {
      // torch's as_strided: "Negative strides are not supported at the moment".
      throw new CheckpointError("invalid-data", `tensor view [${shape}] has negative stride [${t.stride}]: torch refuses negative strides (as_strided)`,
        t.storage?.from === undefined ? {} : { entry: t.storage.from.record });
    }
    hi += (d - 1) * s;
  }
  const startByte = lo * info.itemSize;
  const endByte = (hi + 1) * info.itemSize;
  const storage = t.storage;
  if (storage !== undefined && (lo < 0 || endByte > storage.byteLength || !Number.isSafeInteger(endByte))) {
    throw new CheckpointError(
      "invalid-data",
      `tensor view [${t.shape}] stride [${t.stride}] offset ${t.storageOffset} reaches byte ${endByte} of storage ${storage.key} (${storage.byteLength} bytes)`,
      storage.from === undefined ? {} : { entry: storage.from.record },
    );
  }
  return { itemSize: info.itemSize, numel: n, startByte, endByte, contiguous };
}

/**
 * Elements per stored byte as tensor shapes count them: quint4x2/quint2x4 shapes count packed
 * values, while float4_e2m1fn_x2's shape counts bytes (two values each), as in torch.
 */
function tensorPacking(info: DTypeInfo): number {
  return info.kind === "quantized" ? info.packing ?? 1 : 1;
}

/** Sub-byte dtypes (quint4x2, quint2x4) pack several elements per byte; only contiguous views make sense. */
function packedExtent(t: Tensor, n: number, packing: number, contiguous: boolean): TensorExtent {
  const storage = t.storage;
  if (!contiguous || t.storageOffset % packing !== 0) {
    throw new CheckpointError("unsupported", `a non-contiguous or unaligned view of packed ${t.dtype} elements`);
  }
  const startByte = t.storageOffset / packing;
  const endByte = startByte + Math.ceil(n / packing);
  if (storage !== undefined && endByte > storage.byteLength) {
    throw new CheckpointError("invalid-data", `packed ${t.dtype} view of ${n} elements reaches byte ${endByte} of storage ${storage.key} (${storage.byteLength} bytes)`);
  }
  return { itemSize: 1, numel: n, startByte, endByte, contiguous };
}

function requireStorage(t: Tensor): Storage {
  if (t.storage === undefined) {
    throw new CheckpointError("unsupported", `a ${t.layout} tensor on ${t.device} has no storage of its own`);
  }
  return t.storage;
}

/** The storage bytes in little-endian order (a copy only for big-endian files). */
function littleEndian(storage: Storage, raw: Uint8Array, itemSize: number, elementSize: number): Uint8Array {
  if (storage.byteOrder === "little" || elementSize === 1) return raw;
  return byteswap(raw, elementSize === itemSize ? itemSize : elementSize);
}

/** Bytes per byte-order unit: complex numbers swap each half separately (the table's scalarSize). */
function swapUnit(info: DTypeInfo): number {
  return info.scalarSize;
}

/**
 * The tensor's elements as contiguous little-endian bytes, in C order. Zero-copy (a view into the
 * input) when the view is contiguous and the file little-endian; otherwise a gathered copy.
 * Synchronous: needs an in-memory or `readSync` source, or a storage already loaded.
 */
export function tensorBytes(t: Tensor): Uint8Array {
  const storage = requireStorage(t);
  return gather(t, storageBytesSync(storage));
}

/**
 * {@link tensorBytes} without keeping the storage's bytes on it: a writer that reads each tensor
 * once, writes it and drops it (DCP items, plain JSON) stays bounded by one storage at a time.
 */
export function readTensorBytesSync(t: Tensor): Uint8Array {
  const storage = requireStorage(t);
  return gather(t, readStorageBytesSync(storage));
}

/** {@link tensorBytes} for asynchronous sources (Blob, async callbacks). */
export async function tensorBytesAsync(t: Tensor): Promise<Uint8Array> {
  const storage = requireStorage(t);
  return gather(t, await loadStorage(storage));
}

/** The most bytes one gathered tensor may take: the largest array an engine is sure to allocate. */
export const MAX_GATHERED = 2 ** 32 - 1;

function gather(t: Tensor, raw: Uint8Array): Uint8Array {
  const storage = t.storage!;
  const info = dtypeInfo(t);
  const ext = extentOf(t, info);
  const size = info.itemSize;
  if (ext.numel === 0) return new Uint8Array(0);
  if (tensorPacking(info) > 1) return raw.subarray(ext.startByte, ext.endByte);
  if (ext.contiguous) {
    const start = t.storageOffset * size;
    const end = start + ext.numel * size;
    // A tensor that covers its whole storage (the usual case) is the storage's own view.
    const bytes = start === 0 && end === raw.length ? raw : raw.subarray(start, end);
    return littleEndian(storage, bytes, size, swapUnit(info));
  }
  const total = ext.numel * size;
  if (!Number.isSafeInteger(total) || total > MAX_GATHERED) {
    // A broadcast view (stride 0: torch's expand) names trillions of elements over a few stored ones.
    const broadcast = t.stride.some((s, i) => s === 0 && t.shape[i]! > 1) ? `a broadcast view (stride 0) of ${ext.endByte - ext.startByte} stored bytes: ` : "";
    throw new CheckpointError("limit-exceeded", `${broadcast}tensor [${t.shape}] stride [${t.stride}] has ${ext.numel} elements; gathering them takes ${total} bytes, more than one array holds (${MAX_GATHERED})`,
      storage.from === undefined ? {} : { entry: storage.from.record });
  }
  const out = new Uint8Array(total);
  const dims = t.shape.length;
  // Copy the innermost dimension as one run when its stride is 1, element by element otherwise.
  const innerLen = t.shape[dims - 1]!;
  const innerStride = t.stride[dims - 1]!;
  const runBytes = innerStride === 1 ? innerLen * size : size;
  const index = new Array<number>(dims).fill(0);
  let pos = 0;
  const outer = ext.numel / innerLen;
  for (let k = 0; k < outer; k++) {
    let base = t.storageOffset;
    for (let d = 0; d < dims - 1; d++) base += index[d]! * t.stride[d]!;
    if (innerStride === 1) {
      out.set(raw.subarray(base * size, base * size + runBytes), pos);
      pos += runBytes;
    } else {
      for (let i = 0; i < innerLen; i++) {
        const at = (base + i * innerStride) * size;
        out.set(raw.subarray(at, at + size), pos);
        pos += size;
      }
    }
    for (let d = dims - 2; d >= 0; d--) {
      if (++index[d]! < t.shape[d]!) break;
      index[d] = 0;
    }
  }
  return littleEndian(storage, out, size, swapUnit(info));
}

type TypedArrayOf = Float64Array | Float32Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

const CTORS = {
  Float64Array, Float32Array, Int8Array, Int16Array, Int32Array, BigInt64Array, Uint8Array, Uint16Array, Uint32Array, BigUint64Array,
} as const;

/**
 * The elements as the matching typed array (float16/bfloat16/bits16 as Uint16Array bit patterns,
 * complex32 as interleaved Uint16Array half patterns, bool and the float8 family as Uint8Array,
 * complex as interleaved float pairs). A view, not a copy, when the bytes are contiguous,
 * little-endian and aligned to the element size; a copy otherwise.
 */
export function tensorTypedArray(t: Tensor): TypedArrayOf {
  const info = dtypeInfo(t);
  const bytes = tensorBytes(t);
  // 16-bit floats (and complex32's halves, bits16) come as their bit patterns; other dtypes without a typed array as bytes.
  const name = info.typedArray ?? (info.scalarSize === 2 ? "Uint16Array" : "Uint8Array");
  const Ctor = CTORS[name];
  const unit = Ctor.BYTES_PER_ELEMENT;
  const aligned = bytes.byteOffset % unit === 0 ? bytes : bytes.slice();
  return new Ctor(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / unit) as TypedArrayOf;
}

/** The elements converted to float32 (floats of every width, ints; complex as interleaved pairs). */
export function tensorToFloat32(t: Tensor): Float32Array {
  const info = dtypeInfo(t);
  return toFloat32Array(tensorBytes(t), info.name);
}

/** The strides of a contiguous (row-major) tensor of this shape, as torch computes them (a 0 dim counts as 1). */
export function contiguousStrides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= Math.max(shape[i]!, 1);
  }
  return out;
}
