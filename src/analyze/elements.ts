/**
 * The numbers inside a tensor or numpy array, as float64 chunks, from any dtype: the one place that
 * knows how each dtype's bytes become numbers. Chunked so a large tensor is never widened to a whole
 * Float64Array at once; float32/float64/int views are read in place.
 */
import { ConvertError } from "../errors.js";
import type { DTypeName, NdArray, Tensor } from "../torch/index.js";
import {
  byteswap, dtypeByName, dtypeByNumpy, loadStorage, numel, tensorBytes, tensorBytesAsync,
  toFloat32Array,
} from "../torch/index.js";

/** Elements decoded per chunk (a Float64Array of this length is 512 KiB: stays in cache). */
export const CHUNK_ELEMENTS = 65_536;

/** A tensor or a numpy array, reduced to what the analysis needs. */
export interface NumericArray {
  readonly dtype: DTypeName;
  readonly shape: readonly number[];
  readonly numel: number;
}

/** Why an array has no numbers to analyze (complex, quantized, bits, sparse, meta, object arrays). */
export function unsupportedReason(v: Tensor | NdArray): string | undefined {
  if (v.kind === "tensor") {
    if (v.layout !== "strided") return `a ${v.layout} tensor`;
    if (v.storage === undefined) return `a tensor on ${v.device} without storage`;
    if (v.quantization !== undefined) return `a quantized ${v.dtype} tensor`;
  } else {
    if (v.dtype === undefined || v.data === undefined) return `a numpy ${v.descr} array`;
  }
  const info = dtypeByName(dtypeOf(v) ?? "");
  if (info === undefined) return "an unknown dtype";
  if (info.kind === "complex") return `a complex (${info.name}) array`;
  if (info.kind === "quantized" || info.kind === "bits") return `a ${info.name} array`;
  if (/^u?int[1-7]$/.test(info.name)) return `a sub-byte ${info.name} array`;
  return undefined;
}

export function dtypeOf(v: Tensor | NdArray): DTypeName | undefined {
  return v.kind === "tensor" ? v.dtype : v.dtype;
}

/** Shape, dtype and element count of an array (numpy scalars have shape []). */
export function describeArray(v: Tensor | NdArray): NumericArray {
  const dtype = dtypeOf(v) ?? ("uint8" as DTypeName);
  const shape = v.shape;
  const n = dtype === "float4_e2m1fn_x2" ? numel(shape) * 2 : numel(shape);
  return { dtype, shape, numel: n };
}

/** The little-endian, C-ordered element bytes of an ndarray (a view unless the file was big-endian). */
function ndarrayBytes(a: NdArray): Uint8Array {
  const data = a.data!;
  const order = dtypeByNumpy(a.descr);
  const n = numel(a.shape);
  const info = dtypeByName(a.dtype!)!;
  let bytes = data.subarray(0, n * info.itemSize);
  if (order !== undefined && !order.littleEndian) bytes = byteswap(bytes, info.scalarSize);
  return a.fortranOrder && a.shape.filter((d) => d > 1).length > 1 ? fortranToC(bytes, a.shape, info.itemSize) : bytes;
}

/** Column-major element bytes rearranged into row-major (C) order. */
function fortranToC(bytes: Uint8Array, shape: readonly number[], size: number): Uint8Array {
  const dims = shape.length;
  const fstride = new Array<number>(dims);
  for (let d = 0, s = 1; d < dims; d++) {
    fstride[d] = s;
    s *= shape[d]!;
  }
  const out = new Uint8Array(bytes.length);
  const index = new Array<number>(dims).fill(0);
  const n = bytes.length / size;
  for (let c = 0; c < n; c++) {
    let f = 0;
    for (let d = 0; d < dims; d++) f += index[d]! * fstride[d]!;
    out.set(bytes.subarray(f * size, f * size + size), c * size);
    for (let d = dims - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return out;
}

/** Element bytes, reading synchronously (in-memory or `readSync` sources). */
export function elementBytesSync(v: Tensor | NdArray): Uint8Array {
  return v.kind === "tensor" ? tensorBytes(v) : ndarrayBytes(v);
}

/** Element bytes, loading a lazy storage first when needed. */
export async function elementBytes(v: Tensor | NdArray): Promise<Uint8Array> {
  if (v.kind !== "tensor") return ndarrayBytes(v);
  if (v.storage !== undefined && v.storage.data === undefined) await loadStorage(v.storage);
  return tensorBytesAsync(v);
}

/** A readable run of numbers: typed arrays read in place, or a decoded Float64Array. */
export type Numbers = Float64Array | Float32Array | Int8Array | Uint8Array | Int16Array | Uint16Array | Int32Array | Uint32Array;

const DIRECT = {
  float64: Float64Array, float32: Float32Array, int8: Int8Array, uint8: Uint8Array, int16: Int16Array,
  uint16: Uint16Array, int32: Int32Array, uint32: Uint32Array,
} as const;

/** Random access to an array's numbers, a run at a time: `x[offset + i]` is element `start + i`. */
export interface ElementReader {
  readonly length: number;
  /** At most {@link CHUNK_ELEMENTS} elements for decoded dtypes; the run's numbers are valid until the next call. */
  read(start: number, end: number): { readonly x: Numbers; readonly offset: number };
  /** Longest run `read` accepts at once. */
  readonly maxRun: number;
}

/**
 * A reader over little-endian `dtype` element bytes. Typed dtypes (float32/64, int8-32, uint8-32)
 * are read in place (copied once if unaligned); int64/uint64, bool, float16, bfloat16, float8 and
 * float4 decode exactly into a float64/float32 scratch chunk.
 * @throws ConvertError `unsupported` for dtypes without numeric values (complex, quantized, bits).
 */
export function elementReader(bytes: Uint8Array, dtype: DTypeName): ElementReader {
  const info = dtypeByName(dtype);
  if (info === undefined) throw new ConvertError("unsupported", `unknown dtype ${dtype}`);
  const Direct = (DIRECT as Record<string, (typeof DIRECT)[keyof typeof DIRECT] | undefined>)[info.name];
  if (Direct !== undefined) {
    const unit = Direct.BYTES_PER_ELEMENT;
    const aligned = bytes.byteOffset % unit === 0 ? bytes : bytes.slice();
    const view = new Direct(aligned.buffer as ArrayBuffer, aligned.byteOffset, Math.floor(aligned.byteLength / unit));
    return { length: view.length, maxRun: Number.MAX_SAFE_INTEGER, read: (start) => ({ x: view, offset: start }) };
  }
  const size = info.itemSize;
  if (info.name === "int64" || info.name === "uint64" || info.name === "bool") {
    const out = new Float64Array(CHUNK_ELEMENTS);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const kind = info.name;
    const read = (start: number, end: number) => {
      const n = end - start;
      if (kind === "bool") for (let i = 0; i < n; i++) out[i] = bytes[start + i] === 0 ? 0 : 1;
      else {
        for (let i = 0; i < n; i++) {
          const at = 8 * (start + i);
          const lo = view.getUint32(at, true);
          const hi = kind === "int64" ? view.getInt32(at + 4, true) : view.getUint32(at + 4, true);
          out[i] = hi * 4_294_967_296 + lo;
        }
      }
      return { x: out, offset: 0 };
    };
    return { length: bytes.length / size, maxRun: CHUNK_ELEMENTS, read };
  }
  if (info.kind !== "float") throw new ConvertError("unsupported", `${info.name} elements have no numeric values to analyze`);
  // float16, bfloat16, float8 and float4: the shared exact decoder (every such value is a float32).
  const perByte = info.name === "float4_e2m1fn_x2" ? 2 : 1;
  const read = (start: number, end: number) => {
    if (perByte === 1) return { x: toFloat32Array(bytes.subarray(start * size, end * size), info.name), offset: 0 };
    // float4: two values per byte; decode the covering bytes and skip an odd first value.
    const first = Math.floor(start / 2);
    return { x: toFloat32Array(bytes.subarray(first, Math.ceil(end / 2)), info.name), offset: start - 2 * first };
  };
  return { length: (bytes.length / size) * perByte, maxRun: CHUNK_ELEMENTS, read };
}

/**
 * Calls `visit(numbers, start, end)` for consecutive runs of the elements of `bytes` (little-endian
 * `dtype` elements) until all are visited; `numbers[start..end)` hold the values in element order.
 */
export function forEachChunk(bytes: Uint8Array, dtype: DTypeName, visit: (numbers: Numbers, start: number, end: number) => void): void {
  const r = elementReader(bytes, dtype);
  const run = Math.min(r.maxRun, CHUNK_ELEMENTS * 16);
  for (let s = 0; s < r.length; s += run) {
    const e = Math.min(r.length, s + run);
    const { x, offset } = r.read(s, e);
    visit(x, offset, offset + e - s);
  }
}
