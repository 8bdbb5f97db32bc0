/**
 * Statistics and a histogram of a tensor too large to read whole: its bytes read in 64 MiB pieces,
 * twice (statistics first, with analyze's accumulator; then the histogram over [min, max]). Only
 * contiguous tensors in uncompressed little-endian records qualify. DOM-free.
 */
import { accumulate, finishStats, histogramOfBytes, newAccumulator, type Histogram, type TensorStats } from "../analyze/tensor-stats.js";
import { forEachChunk } from "../analyze/elements.js";
import { dtypeByName, isContiguous, numel, type Tensor } from "../torch/index.js";

/** Bytes read at a time. */
export const STREAM_PIECE = 64 * 2 ** 20;

/** Where a tensor's bytes lie, when they can be streamed. */
export function streamableRange(t: Tensor): { offset: number; length: number; read: (o: number, n: number) => Promise<Uint8Array>; itemSize: number } | undefined {
  const from = t.storage?.from;
  const info = dtypeByName(t.dtype);
  if (from === undefined || t.layout !== "strided" || t.storage?.byteOrder !== "little" || from.compression === "deflate") return undefined;
  if (info === undefined || (info.packing ?? 1) > 1 || info.kind === "complex" || info.kind === "quantized" || !isContiguous(t.shape, t.stride)) return undefined;
  return { offset: from.offset + t.storageOffset * info.itemSize, length: numel(t.shape) * info.itemSize, read: (o, n) => from.source.read(o, n), itemSize: info.itemSize };
}

/** Two passes over the tensor's bytes; `progress(done, total)` after each piece (total = 2 × bytes). */
export async function streamStats(t: Tensor, bins: number, progress?: (done: number, total: number) => void): Promise<{ stats: TensorStats; histogram?: Histogram }> {
  const r = streamableRange(t);
  if (r === undefined) throw new Error(`${t.dtype} tensor cannot be read in pieces (not contiguous, compressed or big-endian)`);
  const piece = STREAM_PIECE - (STREAM_PIECE % r.itemSize);
  const acc = newAccumulator();
  for (let at = 0; at < r.length; at += piece) {
    const bytes = await r.read(r.offset + at, Math.min(piece, r.length - at));
    forEachChunk(bytes, t.dtype, (x, s, e) => accumulate(acc, x, s, e));
    progress?.(at + bytes.length, 2 * r.length);
  }
  const stats = finishStats(acc);
  if (stats.min === null || stats.max === null) return { stats };
  const counts = new Array<number>(bins).fill(0);
  for (let at = 0; at < r.length; at += piece) {
    const bytes = await r.read(r.offset + at, Math.min(piece, r.length - at));
    histogramOfBytes(bytes, t.dtype, stats.min, stats.max, bins).counts.forEach((n, i) => (counts[i]! += n));
    progress?.(r.length + at + bytes.length, 2 * r.length);
  }
  return { stats, histogram: { lo: stats.min, hi: stats.max, counts } };
}
