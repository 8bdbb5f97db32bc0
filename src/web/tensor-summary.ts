/**
 * A tensor's statistics, histogram and heat map in as few passes over its bytes as the dtype
 * allows, with no allocation per element. float16 and bfloat16: one pass counting each of the 65,536
 * bit patterns (the heat map summed on the way), then the statistics and an exact histogram from
 * the counts. float32 and float64: analyze's statistics (as `torchsave stats` computes them), then
 * one pass filling the histogram (analyze's bin rule) and the heat map together. Other dtypes are
 * left to the general path (undefined). DOM-free.
 */
import { statsOfBytes, type Histogram, type TensorStats } from "../analyze/index.js";
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
  const stats = statsOfBytes(bytes, dtype);
  const unit = dtype === "float32" ? 4 : 8;
  const aligned = bytes.byteOffset % unit === 0 ? bytes : bytes.slice();
  const x = dtype === "float32" ? new Float32Array(aligned.buffer, aligned.byteOffset, aligned.length / 4) : new Float64Array(aligned.buffer, aligned.byteOffset, aligned.length / 8);
  const grid = HeatGrid.of(shape, x.length);
  if (stats.min === null || stats.max === null) return { stats, ...(grid === undefined ? {} : { heat: grid.done() }) };
  const lo = stats.min;
  const scale = stats.max > lo ? bins / (stats.max - lo) : 0;
  const counts = new Float64Array(bins);
  const rows = grid?.sourceRows ?? 1;
  const cols = x.length / rows;
  for (let r = 0; r < rows; r++) {
    const base = grid?.base(r) ?? 0;
    const off = r * cols;
    for (let c = 0; c < cols; c++) {
      const v = x[off + c]!;
      if (v - v !== 0) continue;
      counts[bin(v, lo, scale, bins)]!++;
      if (grid !== undefined) {
        const cell = base + grid.colCell[c]!;
        grid.sums[cell]! += v;
        grid.counts[cell]!++;
      }
    }
  }
  return { stats, histogram: { lo, hi: stats.max, counts: Array.from(counts) }, ...(grid === undefined ? {} : { heat: grid.done() }) };
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
  const any = finite > 0;
  const stats: TensorStats = {
    numel: x.length, min: any ? min : null, max: any ? max : null, mean: any ? mean : null, std: finite > 1 ? Math.sqrt(m2 / (finite - 1)) : null,
    norm: any ? Math.sqrt(sumSquares) : null, nan, posinf, neginf, zeros,
  };
  return { stats, ...(any ? { histogram: { lo: min, hi: max, counts } } : {}), ...(grid === undefined ? {} : { heat: grid.done() }) };
}
