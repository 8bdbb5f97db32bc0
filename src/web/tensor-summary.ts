/**
 * A tensor's statistics, histogram and heat map in as few passes over its bytes as the dtype
 * allows, with no allocation per element. float16 and bfloat16: one pass counting each of the 65,536
 * bit patterns (the heat map summed on the way), then the statistics and an exact histogram from
 * the counts. float32 and float64: two passes, the first for extremes, sums, counts and the heat
 * map, the second for squared deviations and the histogram. The figures are analyze's (`torchsave
 * stats`: float64 over the finite values; sample std; analyze's bin rule), summed in another order.
 * Other dtypes are left to the general path (undefined). DOM-free.
 */
import type { Histogram, TensorStats } from "../analyze/index.js";
import { toFloat32Array, type DTypeName } from "../torch/index.js";
import { HEAT_MAX_CELLS } from "./heat-map.js";
import type { HeatMap } from "./protocol.js";

export interface TensorSummary {
  readonly stats: TensorStats;
  readonly histogram?: Histogram;
  readonly heat?: HeatMap;
}

/** The heat map's grid for a row-major tensor seen as [shape[0], rest], or undefined below 2 dimensions. */
class HeatGrid {
  readonly rows: number;
  readonly cols: number;
  readonly sums: Float64Array;
  readonly counts: Float64Array;
  readonly colCell: Int32Array;

  constructor(readonly sourceRows: number, readonly sourceCols: number) {
    this.rows = Math.min(HEAT_MAX_CELLS, sourceRows);
    this.cols = Math.min(HEAT_MAX_CELLS, sourceCols);
    this.sums = new Float64Array(this.rows * this.cols);
    this.counts = new Float64Array(this.rows * this.cols);
    this.colCell = new Int32Array(sourceCols);
    for (let c = 0; c < sourceCols; c++) this.colCell[c] = Math.min(this.cols - 1, Math.floor((c * this.cols) / sourceCols));
  }

  static of(shape: readonly number[], numel: number): HeatGrid | undefined {
    if (shape.length < 2 || numel === 0) return undefined;
    const cols = numel / shape[0]!;
    return Number.isInteger(cols) && cols > 0 ? new HeatGrid(shape[0]!, cols) : undefined;
  }

  /** Where each column cell starts, and the end: [0, ..., sourceCols]. */
  bounds(): number[] {
    const out = [0];
    for (let c = 1; c < this.sourceCols; c++) if (this.colCell[c] !== this.colCell[c - 1]) out.push(c);
    out.push(this.sourceCols);
    return out;
  }

  /** First cell of row `r`'s band. */
  base(r: number): number {
    return Math.min(this.rows - 1, Math.floor((r * this.rows) / this.sourceRows)) * this.cols;
  }

  done(): HeatMap {
    const values = new Float32Array(this.rows * this.cols);
    for (let i = 0; i < values.length; i++) values[i] = this.counts[i]! > 0 ? this.sums[i]! / this.counts[i]! : NaN;
    return { rows: this.rows, cols: this.cols, values, sourceRows: this.sourceRows, sourceCols: this.sourceCols };
  }
}

/** Bin of a finite `v` (analyze's histogramOfBytes rule: the top value falls in the last bin). */
const bin = (v: number, lo: number, scale: number, bins: number): number => {
  const k = Math.floor((v - lo) * scale);
  return k >= bins ? bins - 1 : k < 0 ? 0 : k;
};

/** Statistics, histogram and heat map of `bytes` (little-endian, C order), or undefined for dtypes left to the general path. */
export function summarize(dtype: DTypeName, shape: readonly number[], bytes: Uint8Array, bins: number): TensorSummary | undefined {
  if (dtype === "float16" || dtype === "bfloat16") return halfSummary(dtype, shape, bytes, bins);
  if (dtype !== "float32" && dtype !== "float64") return undefined;
  const unit = dtype === "float32" ? 4 : 8;
  const aligned = bytes.byteOffset % unit === 0 ? bytes : bytes.slice();
  const x = dtype === "float32" ? new Float32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4) : new Float64Array(aligned.buffer, aligned.byteOffset, aligned.length / 8);
  const grid = HeatGrid.of(shape, x.length);
  const rows = grid?.sourceRows ?? Math.ceil(x.length / ROW);
  const cols = grid?.sourceCols ?? ROW;
  // Pass 1: extremes, sums, counts and the heat map, one heat cell's run of a row at a time (scalar
  // accumulators in the inner loop; per-run partial sums keep float64 exact enough).
  let finite = 0, sum = 0, sumSquares = 0, zeros = 0, nan = 0, posinf = 0, neginf = 0, min = Infinity, max = -Infinity;
  const bounds = grid?.bounds() ?? [0, cols];
  for (let r = 0; r < rows; r++) {
    const base = grid?.base(r) ?? 0;
    const off = r * cols;
    for (let cell = 0; cell + 1 < bounds.length; cell++) {
      const end = Math.min(x.length, off + bounds[cell + 1]!);
      let s = 0, sq = 0, lo = Infinity, hi = -Infinity, n = 0, z = 0;
      for (let i = off + bounds[cell]!; i < end; i++) {
        const v = x[i]!;
        if (v - v !== 0) {
          if (v !== v) nan++;
          else if (v > 0) posinf++;
          else neginf++;
          continue;
        }
        s += v;
        sq += v * v;
        n++;
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        if (v === 0) z++;
      }
      sum += s;
      sumSquares += sq;
      zeros += z;
      if (lo < min) min = lo;
      if (hi > max) max = hi;
      if (grid !== undefined) {
        grid.sums[base + cell]! += s;
        grid.counts[base + cell]! += n;
      }
    }
  }
  finite = x.length - nan - posinf - neginf;
  // Pass 2: squared deviations and the histogram.
  const mean = finite > 0 ? sum / finite : 0;
  const scale = max > min ? bins / (max - min) : 0;
  const counts = new Float64Array(bins);
  let m2 = 0;
  if (finite > 0) {
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (v - v !== 0) continue;
      m2 += (v - mean) * (v - mean);
      counts[bin(v, min, scale, bins)]!++;
    }
  }
  const stats = statsOf(x.length, finite, min, max, mean, m2, sumSquares, nan, posinf, neginf, zeros);
  return { stats, ...(finite > 0 ? { histogram: { lo: min, hi: max, counts: Array.from(counts) } } : {}), ...(grid === undefined ? {} : { heat: grid.done() }) };
}

/** Elements per partial sum of a tensor without a heat map. */
const ROW = 4096;

function statsOf(numel: number, finite: number, min: number, max: number, mean: number, m2: number, sumSquares: number, nan: number, posinf: number, neginf: number, zeros: number): TensorStats {
  const any = finite > 0;
  return {
    numel, min: any ? min : null, max: any ? max : null, mean: any ? mean : null, std: finite > 1 ? Math.sqrt(m2 / (finite - 1)) : null,
    norm: any ? Math.sqrt(sumSquares) : null, nan, posinf, neginf, zeros,
  };
}

/** Every float16 or bfloat16 bit pattern's value. */
const tables = new Map<DTypeName, Float32Array>();
function valueTable(dtype: DTypeName): Float32Array {
  let t = tables.get(dtype);
  if (t === undefined) {
    const patterns = new Uint16Array(65_536).map((_, i) => i);
    t = toFloat32Array(new Uint8Array(patterns.buffer), dtype);
    tables.set(dtype, t);
  }
  return t;
}

function halfSummary(dtype: DTypeName, shape: readonly number[], bytes: Uint8Array, bins: number): TensorSummary {
  const table = valueTable(dtype);
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  const x = new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.length >> 1);
  const seen = new Float64Array(65_536);
  const grid = HeatGrid.of(shape, x.length);
  const rows = grid?.sourceRows ?? 1;
  const cols = x.length / rows;
  for (let r = 0; r < rows; r++) {
    const base = grid?.base(r) ?? 0;
    const off = r * cols;
    for (let c = 0; c < cols; c++) {
      const p = x[off + c]!;
      seen[p]!++;
      if (grid === undefined) continue;
      const v = table[p]!;
      if (v - v !== 0) continue;
      const cell = base + grid.colCell[c]!;
      grid.sums[cell]! += v;
      grid.counts[cell]!++;
    }
  }
  let finite = 0, sum = 0, sumSquares = 0, zeros = 0, nan = 0, posinf = 0, neginf = 0, min = Infinity, max = -Infinity;
  for (let p = 0; p < 65_536; p++) {
    const n = seen[p]!;
    if (n === 0) continue;
    const v = table[p]!;
    if (v !== v) nan += n;
    else if (v === Infinity) posinf += n;
    else if (v === -Infinity) neginf += n;
    else {
      finite += n;
      sum += n * v;
      sumSquares += n * v * v;
      if (v === 0) zeros += n;
      if (v < min) min = v;
      if (v > max) max = v;
    }
  }
  const mean = finite > 0 ? sum / finite : 0;
  let m2 = 0;
  const counts = new Array<number>(bins).fill(0);
  const scale = max > min ? bins / (max - min) : 0;
  for (let p = 0; p < 65_536; p++) {
    const n = seen[p]!;
    const v = table[p]!;
    if (n === 0 || v - v !== 0) continue;
    m2 += n * (v - mean) * (v - mean);
    counts[bin(v, min, scale, bins)]! += n;
  }
  const stats = statsOf(x.length, finite, min, max, mean, m2, sumSquares, nan, posinf, neginf, zeros);
  return { stats, ...(finite > 0 ? { histogram: { lo: min, hi: max, counts } } : {}), ...(grid === undefined ? {} : { heat: grid.done() }) };
}
