/**
 * Counting NaN and infinite values in raw tensor bytes, fast: floats are classified by their
 * exponent bits read as integers (one mask and compare per element, no float conversion), over
 * chunks, so a storage is scanned while it streams past for its CRC. Every float dtype torch has
 * is covered: float64/32/16, bfloat16, complex (each part counted), and the float8 formats.
 */
import type { DTypeName } from "../torch/index.js";

/** Counts so far. For complex dtypes each real and imaginary part counts as one value. */
export interface NonFiniteCounts {
  nan: number;
  posInf: number;
  negInf: number;
}

/** Counts NaN/±Inf in little- or big-endian bytes holding whole elements (`bytes.length` a multiple of the unit). */
export type NonFiniteCounter = (bytes: Uint8Array, counts: NonFiniteCounts, littleEndian: boolean) => void;

/** The scalar unit a counter reads: bytes per value (a complex element holds two). */
export interface CounterInfo {
  readonly counter: NonFiniteCounter;
  readonly unit: number;
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function count32(bytes: Uint8Array, c: NonFiniteCounts, little: boolean): void {
  const n = bytes.length >>> 2;
  if (little === LITTLE_ENDIAN_HOST && (bytes.byteOffset & 3) === 0) {
    // Signed loads stay small integers for the JIT. Adding 0x00800000 to the masked exponent
    // carries into the sign bit exactly when the exponent is all ones, so eight values are
    // tested with one OR and one compare; only a block holding a NaN/Inf is looked at value by value.
    const w = new Int32Array(bytes.buffer, bytes.byteOffset, n);
    const M = 0x7f800000, A = 0x00800000;
    let i = 0;
    for (; i + 8 <= n; i += 8) {
      const s = ((w[i]! & M) + A) | ((w[i + 1]! & M) + A) | ((w[i + 2]! & M) + A) | ((w[i + 3]! & M) + A) |
        ((w[i + 4]! & M) + A) | ((w[i + 5]! & M) + A) | ((w[i + 6]! & M) + A) | ((w[i + 7]! & M) + A);
      if (s < 0) for (let k = i; k < i + 8; k++) classify32(w[k]! >>> 0, c);
    }
    for (; i < n; i++) classify32(w[i]! >>> 0, c);
    return;
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) classify32(v.getUint32(i * 4, little), c);
}

function classify32(x: number, c: NonFiniteCounts): void {
  if ((x & 0x7f800000) !== 0x7f800000) return;
  if ((x & 0x007fffff) !== 0) c.nan++;
  else if (x >>> 31) c.negInf++;
  else c.posInf++;
}

function count64(bytes: Uint8Array, c: NonFiniteCounts, little: boolean): void {
  const n = bytes.length >>> 3;
  if (little && LITTLE_ENDIAN_HOST && (bytes.byteOffset & 3) === 0) {
    const w = new Int32Array(bytes.buffer, bytes.byteOffset, n * 2);
    for (let i = 0; i < n; i++) {
      const hi = w[2 * i + 1]!;
      if ((hi & 0x7ff00000) === 0x7ff00000) classify64(hi >>> 0, w[2 * i]! >>> 0, c);
    }
    return;
  }
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < n; i++) {
    const hi = v.getUint32(i * 8 + (little ? 4 : 0), little);
    if ((hi & 0x7ff00000) === 0x7ff00000) classify64(hi, v.getUint32(i * 8 + (little ? 0 : 4), little), c);
  }
}

function classify64(hi: number, lo: number, c: NonFiniteCounts): void {
  if ((hi & 0x000fffff) !== 0 || lo !== 0) c.nan++;
  else if (hi >>> 31) c.negInf++;
  else c.posInf++;
}

function classify16(h: number, expMask: number, mantissa: number, c: NonFiniteCounts): void {
  if ((h & expMask) !== expMask) return;
  if ((h & mantissa) !== 0) c.nan++;
  else if (h & 0x8000) c.negInf++;
  else c.posInf++;
}

/** Reads 16-bit values in the requested byte order and classifies each (the slow, general path). */
function count16Slow(bytes: Uint8Array, c: NonFiniteCounts, little: boolean, expMask: number, mantissa: number): void {
  const n = bytes.length >>> 1;
  for (let i = 0; i < n; i++) {
    const h = little ? bytes[2 * i]! | (bytes[2 * i + 1]! << 8) : (bytes[2 * i]! << 8) | bytes[2 * i + 1]!;
    classify16(h, expMask, mantissa, c);
  }
}

// The fast paths read two values per 32-bit word, with the masks as literals for the JIT.
function countHalf(bytes: Uint8Array, c: NonFiniteCounts, little: boolean): void {
  if (little !== LITTLE_ENDIAN_HOST || (bytes.byteOffset & 3) !== 0) return count16Slow(bytes, c, little, 0x7c00, 0x03ff);
  const words = bytes.length >>> 2;
  const w = new Int32Array(bytes.buffer, bytes.byteOffset, words);
  for (let i = 0; i < words; i++) {
    const x = w[i]! >>> 0;
    if ((x & 0x7c00) === 0x7c00 || (x & 0x7c000000) === 0x7c000000) {
      classify16(x & 0xffff, 0x7c00, 0x03ff, c);
      classify16(x >>> 16, 0x7c00, 0x03ff, c);
    }
  }
  if (bytes.length & 2) count16Slow(bytes.subarray(words * 4), c, little, 0x7c00, 0x03ff);
}

function countBfloat16(bytes: Uint8Array, c: NonFiniteCounts, little: boolean): void {
  if (little !== LITTLE_ENDIAN_HOST || (bytes.byteOffset & 3) !== 0) return count16Slow(bytes, c, little, 0x7f80, 0x007f);
  const words = bytes.length >>> 2;
  const w = new Int32Array(bytes.buffer, bytes.byteOffset, words);
  for (let i = 0; i < words; i++) {
    const x = w[i]! >>> 0;
    if ((x & 0x7f80) === 0x7f80 || (x & 0x7f800000) === 0x7f800000) {
      classify16(x & 0xffff, 0x7f80, 0x007f, c);
      classify16(x >>> 16, 0x7f80, 0x007f, c);
    }
  }
  if (bytes.length & 2) count16Slow(bytes.subarray(words * 4), c, little, 0x7f80, 0x007f);
}

/** One-byte formats, by a 256-entry table: 0 finite, 1 NaN, 2 +Inf, 3 -Inf. */
function countByTable(table: Uint8Array): NonFiniteCounter {
  return (bytes, c) => {
    for (let i = 0; i < bytes.length; i++) {
      const k = table[bytes[i]!]!;
      if (k === 0) continue;
      if (k === 1) c.nan++;
      else if (k === 2) c.posInf++;
      else c.negInf++;
    }
  };
}

function table(classify: (b: number) => number): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = classify(b);
  return t;
}

// float8 encodings (torch's c10 definitions): e5m2 is IEEE-like; e4m3fn has NaN at S.1111.111 and
// no infinities; the fnuz variants have a single NaN (0x80) and no infinities; e8m0fnu's NaN is 0xff.
const E5M2 = table((b) => ((b & 0x7c) !== 0x7c ? 0 : (b & 0x03) !== 0 ? 1 : b & 0x80 ? 3 : 2));
const E4M3FN = table((b) => ((b & 0x7f) === 0x7f ? 1 : 0));
const FNUZ = table((b) => (b === 0x80 ? 1 : 0));
const E8M0 = table((b) => (b === 0xff ? 1 : 0));

const COUNTERS: Partial<Record<DTypeName, CounterInfo>> = {
  float32: { counter: count32, unit: 4 },
  complex64: { counter: count32, unit: 4 },
  float64: { counter: count64, unit: 8 },
  complex128: { counter: count64, unit: 8 },
  float16: { counter: countHalf, unit: 2 },
  complex32: { counter: countHalf, unit: 2 },
  bfloat16: { counter: countBfloat16, unit: 2 },
  float8_e5m2: { counter: countByTable(E5M2), unit: 1 },
  float8_e4m3fn: { counter: countByTable(E4M3FN), unit: 1 },
  float8_e4m3fnuz: { counter: countByTable(FNUZ), unit: 1 },
  float8_e5m2fnuz: { counter: countByTable(FNUZ), unit: 1 },
  float8_e8m0fnu: { counter: countByTable(E8M0), unit: 1 },
};

/** The counter for a dtype, or undefined when the dtype cannot hold NaN or Inf (ints, bool, float4). */
export function nonFiniteCounter(dtype: DTypeName): CounterInfo | undefined {
  return COUNTERS[dtype];
}

/** Counts NaN/±Inf in `bytes` of `dtype` in one call (a convenience over {@link nonFiniteCounter}). */
export function countNonFinite(bytes: Uint8Array, dtype: DTypeName, littleEndian = true): NonFiniteCounts {
  const counts: NonFiniteCounts = { nan: 0, posInf: 0, negInf: 0 };
  const info = COUNTERS[dtype];
  if (info !== undefined) info.counter(bytes.subarray(0, bytes.length - (bytes.length % info.unit)), counts, littleEndian);
  return counts;
}
