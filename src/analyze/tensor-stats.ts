/**
 * Statistics of one tensor or numpy array, accumulated in float64 from any dtype: count, extremes,
 * mean, standard deviation, L2 norm and the counts of NaN, ±Inf and zeros. Runs chunk by chunk
 * (each chunk in two cache-resident passes, chunks merged with Chan's formula), so the result is as
 * accurate as a two-pass float64 computation without ever widening the whole tensor.
 */
import type { NdArray, Tensor } from "../torch/index.js";
import { ConvertError } from "../errors.js";
import type { Numbers } from "./elements.js";
import { describeArray, elementBytes, elementBytesSync, forEachChunk, unsupportedReason } from "./elements.js";

/**
 * What {@link tensorStats} computes. `min`, `max`, `mean`, `std` and `norm` are over the finite
 * elements only (NaN and ±Inf are counted instead); they are `null` when no element is finite
 * (`std` also when fewer than two are). `std` is the sample standard deviation (torch's default,
 * `correction=1`). Booleans count as 0/1.
 */
export interface TensorStats {
  readonly numel: number;
  readonly min: number | null;
  readonly max: number | null;
  readonly mean: number | null;
  readonly std: number | null;
  /** ‖x‖₂ over the finite elements. */
  readonly norm: number | null;
  readonly nan: number;
  readonly posinf: number;
  readonly neginf: number;
  readonly zeros: number;
}

/** Running state of a statistics pass; merge chunks with {@link accumulate}, read with {@link finishStats}. */
export interface StatsAccumulator {
  numel: number;
  finite: number;
  min: number;
  max: number;
  mean: number;
  /** Sum of squared deviations from the mean (finite elements). */
  m2: number;
  sumSquares: number;
  nan: number;
  posinf: number;
  neginf: number;
  zeros: number;
}

export function newAccumulator(): StatsAccumulator {
  return { numel: 0, finite: 0, min: Infinity, max: -Infinity, mean: 0, m2: 0, sumSquares: 0, nan: 0, posinf: 0, neginf: 0, zeros: 0 };
}

/** Adds `x[start..end)` to `acc`. */
export function accumulate(acc: StatsAccumulator, x: Numbers, start: number, end: number): void {
  let n = 0;
  let sum = 0;
  let sq = 0;
  let lo = Infinity;
  let hi = -Infinity;
  let zeros = 0;
  let bad = 0;
  for (let i = start; i < end; i++) {
    const v = x[i]!;
    if (v - v !== 0) {
      bad++;
      continue;
    }
    n++;
    sum += v;
    sq += v * v;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    if (v === 0) zeros++;
  }
  if (bad > 0) {
    for (let i = start; i < end; i++) {
      const v = x[i]!;
      if (v !== v) acc.nan++;
      else if (v === Infinity) acc.posinf++;
      else if (v === -Infinity) acc.neginf++;
    }
  }
  acc.numel += end - start;
  acc.zeros += zeros;
  acc.sumSquares += sq;
  if (n === 0) return;
  const mean = sum / n;
  let m2 = 0;
  for (let i = start; i < end; i++) {
    const v = x[i]!;
    if (v - v === 0) {
      const d = v - mean;
      m2 += d * d;
    }
  }
  if (lo < acc.min) acc.min = lo;
  if (hi > acc.max) acc.max = hi;
  // Chan et al.: merge (n, mean, m2) of the chunk into the running totals.
  const total = acc.finite + n;
  const delta = mean - acc.mean;
  acc.m2 += m2 + (delta * delta * acc.finite * n) / total;
  acc.mean += (delta * n) / total;
  acc.finite = total;
}

export function finishStats(acc: StatsAccumulator): TensorStats {
  const any = acc.finite > 0;
  return {
    numel: acc.numel,
    min: any ? acc.min : null,
    max: any ? acc.max : null,
    mean: any ? acc.mean : null,
    std: acc.finite > 1 ? Math.sqrt(acc.m2 / (acc.finite - 1)) : null,
    norm: any ? Math.sqrt(acc.sumSquares) : null,
    nan: acc.nan,
    posinf: acc.posinf,
    neginf: acc.neginf,
    zeros: acc.zeros,
  };
}

/** Statistics of little-endian element bytes of `dtype`. */
export function statsOfBytes(bytes: Uint8Array, dtype: Tensor["dtype"]): TensorStats {
  const acc = newAccumulator();
  forEachChunk(bytes, dtype, (x, s, e) => accumulate(acc, x, s, e));
  return finishStats(acc);
}

function checkSupported(v: Tensor | NdArray): void {
  const why = unsupportedReason(v);
  if (why !== undefined) throw new ConvertError("unsupported", `no statistics for ${why}`);
}

/**
 * The statistics of a tensor (or numpy array), loading a lazy storage if it is not in memory yet.
 * Every dtype with real values works: float64/32/16, bfloat16, the float8 family, float4, ints,
 * uint64 and bool; values are widened to float64 before anything is summed.
 * @throws ConvertError `unsupported` for complex, quantized, bits, sparse and storage-less tensors;
 *   CheckpointError when the storage cannot be read.
 */
export async function tensorStats(v: Tensor | NdArray): Promise<TensorStats> {
  checkSupported(v);
  return statsOfBytes(await elementBytes(v), describeArray(v).dtype);
}

/** {@link tensorStats} for in-memory and `readSync` sources. */
export function tensorStatsSync(v: Tensor | NdArray): TensorStats {
  checkSupported(v);
  return statsOfBytes(elementBytesSync(v), describeArray(v).dtype);
}

/** Counts of finite values in `bins` equal-width bins over [lo, hi] (NaN/Inf are left out). */
export interface Histogram {
  readonly lo: number;
  readonly hi: number;
  readonly counts: number[];
}

/** A histogram of the finite elements between `lo` and `hi` (from the statistics). */
export function histogramOfBytes(bytes: Uint8Array, dtype: Tensor["dtype"], lo: number, hi: number, bins: number): Histogram {
  const counts = new Array<number>(bins).fill(0);
  const width = hi - lo;
  const scale = width > 0 ? bins / width : 0;
  forEachChunk(bytes, dtype, (x, s, e) => {
    for (let i = s; i < e; i++) {
      const v = x[i]!;
      if (v - v !== 0) continue;
      let k = Math.floor((v - lo) * scale);
      if (k >= bins) k = bins - 1;
      else if (k < 0) k = 0;
      counts[k]!++;
    }
  });
  return { lo, hi, counts };
}
