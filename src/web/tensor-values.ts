/**
 * A tensor's elements as numbers, from its logical bytes (what `tensorBytesAsync` returns): the
 * typed array that holds them exactly when there is one, float32 for the 16- and 8-bit floats,
 * float64 for 64-bit integers. DOM-free.
 */
import { canConvertToFloat32, DTYPES, toFloat32Array, type Tensor } from "../torch/index.js";

export interface TensorNumbers {
  /** One number per element; complex dtypes give real and imaginary parts interleaved. */
  readonly values: ArrayLike<number>;
  /** 2 for complex dtypes (values interleave re, im), 1 otherwise. */
  readonly perElement: 1 | 2;
  /** Set when values are not the tensor's own (quantized: the integer representation). */
  readonly note?: string;
}

const CTORS = { Float64Array, Float32Array, Int8Array, Int16Array, Int32Array, Uint8Array, Uint16Array, Uint32Array } as const;

/** The numbers in `bytes` (little-endian, C order) for `t`'s dtype; undefined when they are not numbers. */
export function tensorNumbers(t: Pick<Tensor, "dtype">, bytes: Uint8Array): TensorNumbers | undefined {
  const info = DTYPES.find((d) => d.name === t.dtype);
  if (info === undefined) return undefined;
  const perElement = info.kind === "complex" ? 2 : 1;
  const note = info.kind === "quantized" ? "the integer representation (scale and zero point not applied)" : undefined;
  const withNote = (values: ArrayLike<number>): TensorNumbers => ({ values, perElement, ...(note === undefined ? {} : { note }) });
  const name = info.typedArray;
  if (info.packing !== undefined && info.packing > 1) return undefined;
  if (name === "BigInt64Array" || name === "BigUint64Array") {
    const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
    const buf = aligned.buffer as ArrayBuffer;
    const big = name === "BigInt64Array" ? new BigInt64Array(buf, aligned.byteOffset, aligned.byteLength / 8) : new BigUint64Array(buf, aligned.byteOffset, aligned.byteLength / 8);
    const out = new Float64Array(big.length);
    for (let i = 0; i < big.length; i++) out[i] = Number(big[i]!);
    return withNote(out);
  }
  if (name !== undefined) {
    const Ctor = CTORS[name];
    const unit = Ctor.BYTES_PER_ELEMENT;
    const aligned = bytes.byteOffset % unit === 0 ? bytes : bytes.slice();
    return withNote(new Ctor(aligned.buffer as ArrayBuffer, aligned.byteOffset, Math.floor(aligned.byteLength / unit)));
  }
  if (canConvertToFloat32(info)) return withNote(toFloat32Array(bytes, info));
  return undefined;
}
