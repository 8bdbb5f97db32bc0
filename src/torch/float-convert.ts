/**
 * Exact conversions between torch's narrow float formats and JavaScript numbers, bit-driven (no
 * lookup through a float multiply that could round). Decoding is exact: every float16, bfloat16,
 * float8 and float4 value is a float32. Encoding to float16/bfloat16 rounds to nearest, ties to
 * even, the way c10's `Half` and `BFloat16` constructors do.
 */
import { ConvertError } from "../errors.js";
import { dtypeByName, type DTypeInfo, type DTypeName } from "./dtypes.js";

// Scratch views for float32 <-> bits; created per call so no module state is mutated.
function f32Bits(x: number): number {
  const f = new Float32Array(1);
  f[0] = x;
  return new Uint32Array(f.buffer)[0]!;
}

/** The float16 (IEEE binary16) with bit pattern `bits` (0..0xffff), as a number. */
export function float16ToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const man = bits & 0x3ff;
  if (exp === 0) return sign * man * 2 ** -24;
  if (exp === 0x1f) return man === 0 ? sign * Infinity : NaN;
  return sign * (0x400 + man) * 2 ** (exp - 25);
}

/** The bfloat16 with bit pattern `bits` (the top half of a float32), as a number. */
export function bfloat16ToFloat32(bits: number): number {
  const u = new Uint32Array(1);
  u[0] = (bits & 0xffff) << 16;
  return new Float32Array(u.buffer)[0]!;
}

/**
 * `x` rounded to float32, then to float16 with round-to-nearest-even; returns the bit pattern.
 * Overflow gives ±Infinity (0x7c00/0xfc00). Every NaN gives 0x7e00: payloads are not preserved
 * (c10 does the same) and a JavaScript NaN's sign is not reliably observable, so float16 NaNs do
 * not round-trip bit-exactly.
 */
export function float32ToFloat16(x: number): number {
  const u = f32Bits(x);
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  const man = u & 0x7fffff;
  if (exp === 0xff) return man === 0 ? sign | 0x7c00 : 0x7e00;
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal float16 (or zero): shift the full significand right, rounding to nearest even.
    if (e < -10) return sign;
    const m = man | 0x800000;
    const shift = 14 - e;
    const half = m >>> shift;
    const rem = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    return sign | (rem > halfway || (rem === halfway && (half & 1) === 1) ? half + 1 : half);
  }
  const half = (e << 10) | (man >>> 13);
  const rem = man & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to 0x7c00 (Infinity): both are correct.
  return sign | (rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1) ? half + 1 : half);
}

/**
 * `x` rounded to float32, then to bfloat16 with round-to-nearest-even; returns the bit pattern.
 * NaN gives 0x7fc0 (sign dropped), as c10's `round_to_nearest_even` does.
 */
export function float32ToBfloat16(x: number): number {
  if (Number.isNaN(x)) return 0x7fc0;
  const u = f32Bits(x);
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Encodes each value with {@link float32ToFloat16}; returns the bit patterns. */
export function toFloat16Bits(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16(values[i]!);
  return out;
}

/** Encodes each value with {@link float32ToBfloat16}; returns the bit patterns. */
export function toBfloat16Bits(values: ArrayLike<number>): Uint16Array {
  const f = Float32Array.from(values);
  const u = new Uint32Array(f.buffer);
  const out = new Uint16Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const b = u[i]!;
    // NaN: exponent all ones and a non-zero mantissa.
    out[i] = (b & 0x7fffffff) > 0x7f800000 ? 0x7fc0 : ((b + 0x7fff + ((b >>> 16) & 1)) >>> 16) & 0xffff;
  }
  return out;
}

/** How one 8-bit float format spends its bits. */
interface Float8Format {
  readonly expBits: number;
  readonly manBits: number;
  readonly bias: number;
  /**
   * "ieee": an all-ones exponent is Inf (mantissa 0) or NaN; "fn": only all-ones exponent and
   * mantissa is NaN, no Inf; "fnuz": only the negative-zero pattern is NaN, no Inf, no -0;
   * "finite": every pattern is a number.
   */
  readonly special: "ieee" | "fn" | "fnuz" | "finite";
}

const FLOAT8_FORMATS = {
  float8_e4m3fn: { expBits: 4, manBits: 3, bias: 7, special: "fn" },
  float8_e5m2: { expBits: 5, manBits: 2, bias: 15, special: "ieee" },
  float8_e4m3fnuz: { expBits: 4, manBits: 3, bias: 8, special: "fnuz" },
  float8_e5m2fnuz: { expBits: 5, manBits: 2, bias: 16, special: "fnuz" },
} as const satisfies Record<string, Float8Format>;

/** The float8 dtypes with a sign, exponent and mantissa (e8m0fnu is exponent-only and separate). */
export type Float8Name = keyof typeof FLOAT8_FORMATS;

function decodeMinifloat(bits: number, f: Float8Format): number {
  const total = 1 + f.expBits + f.manBits;
  const signBit = 1 << (total - 1);
  const expMax = (1 << f.expBits) - 1;
  const manMask = (1 << f.manBits) - 1;
  if (f.special === "fnuz" && bits === signBit) return NaN;
  const sign = bits & signBit ? -1 : 1;
  const exp = (bits >>> f.manBits) & expMax;
  const man = bits & manMask;
  if (exp === expMax) {
    if (f.special === "ieee") return man === 0 ? sign * Infinity : NaN;
    if (f.special === "fn" && man === manMask) return NaN;
  }
  if (exp === 0) return sign * man * 2 ** (1 - f.bias - f.manBits);
  return sign * (man + (1 << f.manBits)) * 2 ** (exp - f.bias - f.manBits);
}

// One 256-entry table per float8 format, built once from FLOAT8_FORMATS and never written again.
const FLOAT8_TABLES: Readonly<Record<Float8Name | "float8_e8m0fnu", Float32Array>> = (() => {
  const build = (decode: (b: number) => number): Float32Array => Float32Array.from({ length: 256 }, (_, b) => decode(b));
  return {
    float8_e4m3fn: build((b) => decodeMinifloat(b, FLOAT8_FORMATS.float8_e4m3fn)),
    float8_e5m2: build((b) => decodeMinifloat(b, FLOAT8_FORMATS.float8_e5m2)),
    float8_e4m3fnuz: build((b) => decodeMinifloat(b, FLOAT8_FORMATS.float8_e4m3fnuz)),
    float8_e5m2fnuz: build((b) => decodeMinifloat(b, FLOAT8_FORMATS.float8_e5m2fnuz)),
    float8_e8m0fnu: build((b) => (b === 0xff ? NaN : 2 ** (b - 127))),
  };
})();

const FLOAT4_E2M1: Float32Array = Float32Array.from({ length: 16 }, (_, b) =>
  decodeMinifloat(b, { expBits: 2, manBits: 1, bias: 1, special: "finite" }),
);

/** float8_e4m3fn: bias 7, no Infinity, NaN only at 0x7f/0xff, max 448. */
export function float8E4m3fnToFloat32(bits: number): number {
  return FLOAT8_TABLES.float8_e4m3fn[bits & 0xff]!;
}
/** float8_e5m2: IEEE-like, bias 15, Infinity at 0x7c/0xfc, NaN above, max 57344. */
export function float8E5m2ToFloat32(bits: number): number {
  return FLOAT8_TABLES.float8_e5m2[bits & 0xff]!;
}
/** float8_e4m3fnuz: bias 8, no Infinity, no -0, NaN only at 0x80, max 240. */
export function float8E4m3fnuzToFloat32(bits: number): number {
  return FLOAT8_TABLES.float8_e4m3fnuz[bits & 0xff]!;
}
/** float8_e5m2fnuz: bias 16, no Infinity, no -0, NaN only at 0x80, max 57344. */
export function float8E5m2fnuzToFloat32(bits: number): number {
  return FLOAT8_TABLES.float8_e5m2fnuz[bits & 0xff]!;
}
/** float8_e8m0fnu: unsigned exponent-only scale, 2^(bits-127); 0xff is NaN; no zero. */
export function float8E8m0fnuToFloat32(bits: number): number {
  return FLOAT8_TABLES.float8_e8m0fnu[bits & 0xff]!;
}
/** One float4_e2m1fn value (a nibble, 0..15): ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}; no Inf or NaN. */
export function float4E2m1fnToFloat32(nibble: number): number {
  return FLOAT4_E2M1[nibble & 0xf]!;
}

/** True for every dtype {@link toFloat32Array} accepts. */
export function canConvertToFloat32(dtype: DTypeName | DTypeInfo): boolean {
  const info = typeof dtype === "string" ? dtypeByName(dtype) : dtype;
  return info !== undefined && (CONVERTIBLE as readonly string[]).includes(info.name);
}

const CONVERTIBLE = [
  "float64", "float32", "float16", "bfloat16", "complex32", "complex64", "complex128",
  "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "bool",
  "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e8m0fnu", "float4_e2m1fn_x2",
] as const satisfies readonly DTypeName[];

/**
 * Decodes little-endian storage bytes of `dtype` into a new Float32Array (never a view of
 * `bytes`; unaligned input is fine). Complex dtypes give real and imaginary parts interleaved;
 * float4_e2m1fn_x2 gives two values per byte, low nibble first; bool gives 0/1. float64, int32,
 * uint32 and 64-bit integers round to the nearest float32.
 * @throws ConvertError `invalid-argument` when the byte length is not a whole number of
 *   elements or the dtype is unknown; `unsupported` for quantized, bits and sub-byte int dtypes
 *   (their values need scales or have no numeric meaning).
 */
export function toFloat32Array(bytes: Uint8Array, dtype: DTypeName | DTypeInfo): Float32Array {
  const info = typeof dtype === "string" ? dtypeByName(dtype) : dtype;
  if (info === undefined) throw new ConvertError("invalid-argument", `unknown dtype ${String(dtype)}`);
  if (!canConvertToFloat32(info)) {
    throw new ConvertError("unsupported", `cannot convert ${info.name} to float32 values`);
  }
  if (bytes.length % info.itemSize !== 0) {
    throw new ConvertError("invalid-argument", `${bytes.length} bytes is not a whole number of ${info.name} elements (${info.itemSize} bytes each)`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const name = info.name as (typeof CONVERTIBLE)[number];
  switch (name) {
    case "float8_e4m3fn":
    case "float8_e5m2":
    case "float8_e4m3fnuz":
    case "float8_e5m2fnuz":
    case "float8_e8m0fnu": {
      const table = FLOAT8_TABLES[name];
      const out = new Float32Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) out[i] = table[bytes[i]!]!;
      return out;
    }
    case "float4_e2m1fn_x2": {
      const out = new Float32Array(bytes.length * 2);
      for (let i = 0; i < bytes.length; i++) {
        out[2 * i] = FLOAT4_E2M1[bytes[i]! & 0xf]!;
        out[2 * i + 1] = FLOAT4_E2M1[bytes[i]! >>> 4]!;
      }
      return out;
    }
    case "float16":
    case "complex32": {
      // Build float32 bit patterns directly so NaN payloads survive; subnormals go through arithmetic.
      const n = bytes.length / 2;
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) {
        const h = view.getUint16(2 * i, true);
        const exp = (h >>> 10) & 0x1f;
        if (exp === 0) out[i] = float16ToFloat32(h);
        else bits[i] = ((h & 0x8000) << 16) | ((exp === 0x1f ? 0xff : exp + 112) << 23) | ((h & 0x3ff) << 13);
      }
      return out;
    }
    case "bfloat16": {
      const n = bytes.length / 2;
      const out = new Float32Array(n);
      const bits = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(2 * i, true) << 16;
      return out;
    }
    case "float32":
    case "complex64":
      return mapScalars(bytes.length / 4, (i) => view.getFloat32(4 * i, true));
    case "float64":
    case "complex128":
      return mapScalars(bytes.length / 8, (i) => view.getFloat64(8 * i, true));
    case "int8":
      return mapScalars(bytes.length, (i) => view.getInt8(i));
    case "uint8":
      return mapScalars(bytes.length, (i) => bytes[i]!);
    case "bool":
      return mapScalars(bytes.length, (i) => (bytes[i] === 0 ? 0 : 1));
    case "int16":
      return mapScalars(bytes.length / 2, (i) => view.getInt16(2 * i, true));
    case "uint16":
      return mapScalars(bytes.length / 2, (i) => view.getUint16(2 * i, true));
    case "int32":
      return mapScalars(bytes.length / 4, (i) => view.getInt32(4 * i, true));
    case "uint32":
      return mapScalars(bytes.length / 4, (i) => view.getUint32(4 * i, true));
    case "int64":
      return mapScalars(bytes.length / 8, (i) => Number(view.getBigInt64(8 * i, true)));
    case "uint64":
      return mapScalars(bytes.length / 8, (i) => Number(view.getBigUint64(8 * i, true)));
  }
}

function mapScalars(n: number, get: (i: number) => number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = get(i);
  return out;
}

/**
 * A copy of `bytes` with every `itemSize`-byte group reversed, for big-endian storages. Pass the
 * scalar width (`DTypeInfo.scalarSize`): complex64 swaps each 4-byte half, not all 8 bytes.
 * @throws ConvertError `invalid-argument` when itemSize is not a positive integer or the length
 *   is not a multiple of it.
 */
export function byteswap(bytes: Uint8Array, itemSize: number): Uint8Array {
  if (!Number.isSafeInteger(itemSize) || itemSize < 1) {
    throw new ConvertError("invalid-argument", `bad item size ${itemSize} for a byte swap`);
  }
  if (bytes.length % itemSize !== 0) {
    throw new ConvertError("invalid-argument", `${bytes.length} bytes is not a multiple of the item size ${itemSize}`);
  }
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += itemSize) {
    for (let k = 0; k < itemSize; k++) out[i + k] = bytes[i + itemSize - 1 - k]!;
  }
  return out;
}
