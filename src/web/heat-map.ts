/**
 * The heat map and the first values of one tensor's numbers (its statistics and histogram come
 * from the analyze layer, as `torchsave stats` computes them). No allocation sized by the data
 * beyond the heat map's fixed grid. DOM-free.
 */
import { floatRepr } from "../pickle/index.js";
import type { HeatMap } from "./protocol.js";

export const HEAT_MAX_CELLS = 96;
export const FIRST_VALUES = 48;

/**
 * A heat map of a tensor of 2 or more dimensions seen as [shape[0], rest]: at most
 * HEAT_MAX_CELLS × HEAT_MAX_CELLS cells, each the mean of the finite elements of its block (NaN
 * when the block holds none).
 */
export function heatMap(values: ArrayLike<number>, shape: readonly number[], maxCells = HEAT_MAX_CELLS): HeatMap | undefined {
  if (shape.length < 2 || values.length === 0) return undefined;
  const sourceRows = shape[0]!;
  const sourceCols = values.length / sourceRows;
  if (!Number.isInteger(sourceCols) || sourceCols === 0) return undefined;
  const rows = Math.min(maxCells, sourceRows);
  const cols = Math.min(maxCells, sourceCols);
  const sums = new Float64Array(rows * cols);
  const counts = new Float64Array(rows * cols);
  const rowScale = rows / sourceRows;
  const colScale = cols / sourceCols;
  const colCell = new Int32Array(sourceCols);
  for (let c = 0; c < sourceCols; c++) colCell[c] = Math.min(cols - 1, Math.floor(c * colScale));
  for (let r = 0; r < sourceRows; r++) {
    const base = Math.min(rows - 1, Math.floor(r * rowScale)) * cols;
    const off = r * sourceCols;
    for (let c = 0; c < sourceCols; c++) {
      const v = values[off + c]!;
      if (v - v !== 0) continue;
      const cell = base + colCell[c]!;
      sums[cell]! += v;
      counts[cell]!++;
    }
  }
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < out.length; i++) out[i] = counts[i]! > 0 ? sums[i]! / counts[i]! : NaN;
  return { rows, cols, values: out, sourceRows, sourceCols };
}

/** A number as torch prints it in a repr: nan, inf, -inf; floats shortest round-trip; ints plain. */
export function formatNumber(v: number, isFloat: boolean, float32: boolean): string {
  if (Number.isNaN(v)) return "nan";
  if (v === Infinity) return "inf";
  if (v === -Infinity) return "-inf";
  if (!isFloat) return String(v);
  if (float32) return shortestFloat32(v);
  return floatRepr(v);
}

/** The shortest decimal that reads back as the same float32. */
function shortestFloat32(v: number): string {
  for (let p = 1; p <= 9; p++) {
    const s = v.toPrecision(p);
    if (Math.fround(Number(s)) === v) return String(Number(s)).includes(".") || /e/i.test(String(Number(s))) ? String(Number(s)) : `${Number(s)}.`;
  }
  return String(v);
}
