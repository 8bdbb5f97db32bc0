/**
 * Planning and running the NaN/Inf scan. Contiguous tensors are scanned while their record
 * streams past (for zip files, in the same pass that checks its CRC), so each byte is read once;
 * strided views and big-endian storages are gathered into logical order first (up to
 * `maxGatherBytes`). Results land in `ctx.tensors`, and tensors holding NaN or Inf get a finding.
 */
import type { KeyPath } from "../errors.js";
import { isTorchsaveError } from "../errors.js";
import type { ByteSource } from "../bytes/source.js";
import { dtypeByName, tensorBytes, tensorExtent, walkTensors } from "../torch/index.js";
import type { Checkpoint, Storage, Tensor } from "../torch/index.js";
import { report, type Ctx, type TensorValueStats } from "./context.js";
import { nonFiniteCounter, type CounterInfo, type NonFiniteCounts } from "./nonfinite.js";

/** One contiguous byte range of a record to count values in. */
export interface ValueTarget {
  readonly stats: TensorValueStats;
  readonly counter: CounterInfo;
  /** Byte range in the record's (uncompressed) bytes. */
  readonly start: number;
  readonly end: number;
  readonly littleEndian: boolean;
  /** Bytes counted so far. */
  covered: number;
}

/** How each floating-point tensor will be scanned. */
export interface ValuePlan {
  /** Targets by record key: the zip entry name, or {@link FILE_RECORD} for absolute file ranges. */
  readonly byRecord: Map<string, ValueTarget[]>;
  /** Tensors to gather and count after streaming. */
  readonly gathered: { readonly tensor: Tensor; readonly stats: TensorValueStats }[];
}

/** Every tensor once, with the first path that reaches it (sparse values and per-channel scales included). */
export function distinctTensors(root: Checkpoint["root"]): { path: KeyPath; tensor: Tensor }[] {
  const seen = new Set<Tensor>();
  const out: { path: KeyPath; tensor: Tensor }[] = [];
  const add = (path: KeyPath, t: Tensor | undefined): void => {
    if (t === undefined || seen.has(t)) return;
    seen.add(t);
    out.push({ path, tensor: t });
  };
  for (const { path, tensor } of walkTensors(root, { into: "all" })) {
    add(path, tensor);
    add([...path, "$values"], tensor.sparse?.values);
    if (tensor.quantization !== undefined && "scales" in tensor.quantization) add([...path, "$scales"], tensor.quantization.scales);
  }
  return out;
}

/** Record key for targets located by absolute offsets in the file (legacy, tar, npy storages). */
export const FILE_RECORD = "@file";

/**
 * Where a storage's bytes stream: zip storages under their entry name (offsets relative to the
 * record, which may be deflated); other layouts' stored bytes by absolute file offset.
 */
export function storageRecord(storage: Storage, zip: boolean): { key: string; offset: number } | undefined {
  const from = storage.from;
  if (from === undefined) return undefined;
  if (zip) return { key: from.record, offset: 0 };
  return from.compression === "none" ? { key: FILE_RECORD, offset: from.offset } : undefined;
}

/**
 * Decides how each floating-point tensor is scanned, and reports tensors reaching outside their
 * storage (tensor-out-of-bounds) on the way.
 */
export function planValueScan(ctx: Ctx, checkpoint: Checkpoint): ValuePlan {
  const zip = checkpoint.layout === "zip" || checkpoint.layout === "torchscript";
  const plan: ValuePlan = { byRecord: new Map(), gathered: [] };
  for (const { path, tensor } of distinctTensors(checkpoint.root)) {
    const storage = tensor.storage;
    let extent;
    try {
      extent = tensorExtent(tensor);
    } catch (e) {
      if (!isTorchsaveError(e)) throw e;
      report(ctx, "tensor-out-of-bounds", e.reason, { keyPath: path, ...(storage?.from === undefined ? {} : { record: storage.from.record }) });
      continue;
    }
    if (!ctx.options.scanValues) continue;
    const counter = nonFiniteCounter(tensor.dtype);
    if (counter === undefined || tensor.layout !== "strided") continue;
    const stats: TensorValueStats = { path, dtype: tensor.dtype, numel: extent.numel, nan: 0, posInf: 0, negInf: 0, scanned: false };
    ctx.tensors.push(stats);
    if (extent.numel === 0) {
      stats.scanned = true;
      continue;
    }
    // Storages whose bytes live in another source (a plain pickle's `_load_from_bytes` payloads)
    // are gathered: their offsets are not offsets of the file.
    const elsewhere = storage?.from !== undefined && storage.from.source !== checkpoint.source;
    const where = storage === undefined || elsewhere ? undefined : storageRecord(storage, zip);
    if (elsewhere && storage?.from !== undefined) {
      plan.gathered.push({ tensor, stats });
      continue;
    }
    if (storage === undefined || where === undefined) {
      report(ctx, "tensor-scan-skipped", `a ${tensor.dtype} tensor on ${tensor.device} has no stored data to scan`, { keyPath: path });
      continue;
    }
    if (extent.contiguous) {
      const start = where.offset + extent.startByte;
      const list = plan.byRecord.get(where.key) ?? [];
      list.push({ stats, counter, start, end: start + extent.numel * extent.itemSize, littleEndian: storage.byteOrder === "little", covered: 0 });
      plan.byRecord.set(where.key, list);
    } else {
      plan.gathered.push({ tensor, stats });
    }
  }
  return plan;
}

/** Feeds one chunk of a record (starting `at` bytes into it) to the record's targets. */
export function observeChunk(targets: readonly ValueTarget[] | undefined, chunk: Uint8Array, at: number): void {
  if (targets === undefined) return;
  const end = at + chunk.length;
  for (const t of targets) {
    const a = Math.max(at, t.start);
    const b = Math.min(end, t.end);
    if (a >= b) continue;
    // Chunks start at multiples of 16 bytes from the record start, so `a` is on a value boundary;
    // only a record cut short can end mid-value.
    const len = b - a - ((b - a) % t.counter.unit);
    const counts: NonFiniteCounts = t.stats;
    t.counter.counter(chunk.subarray(a - at, a - at + len), counts, t.littleEndian);
    t.covered += len;
  }
}

/** After streaming: marks fully covered targets scanned, gathers the rest, and reports non-finite values. */
export function finishValueScan(ctx: Ctx, plan: ValuePlan): void {
  for (const targets of plan.byRecord.values()) {
    for (const t of targets) {
      if (t.covered >= t.end - t.start) t.stats.scanned = true;
      else report(ctx, "tensor-scan-skipped", `only ${t.covered} of ${t.end - t.start} bytes of this ${t.stats.dtype} tensor could be read`, { keyPath: t.stats.path });
    }
  }
  for (const { tensor, stats } of plan.gathered) {
    const info = dtypeByName(tensor.dtype);
    const bytes = stats.numel * (info?.itemSize ?? 1);
    const storageBytes = tensor.storage?.byteLength ?? 0;
    if (Math.max(bytes, storageBytes) > ctx.options.maxGatherBytes) {
      const broadcast = tensor.stride.some((st, i) => st === 0 && tensor.shape[i]! > 1) ? ` (a broadcast view: stride [${tensor.stride}] over a ${storageBytes}-byte storage names ${stats.numel} elements)` : "";
      report(ctx, "tensor-scan-skipped", `this strided ${tensor.dtype} view${broadcast} needs ${Math.max(bytes, storageBytes)} bytes gathered, over maxGatherBytes`, { keyPath: stats.path });
      continue;
    }
    try {
      const counter = nonFiniteCounter(tensor.dtype)!;
      counter.counter(tensorBytes(tensor), stats, true);
      stats.scanned = true;
    } catch (e) {
      if (!isTorchsaveError(e)) throw e;
      report(ctx, "tensor-scan-skipped", `values could not be read: ${e.reason}`, { keyPath: stats.path });
    }
  }
  for (const s of ctx.tensors) {
    if (s.nan + s.posInf + s.negInf === 0) continue;
    const parts = [s.nan > 0 ? `${s.nan} NaN` : "", s.posInf > 0 ? `${s.posInf} +Inf` : "", s.negInf > 0 ? `${s.negInf} -Inf` : ""].filter((x) => x);
    const complex = dtypeByName(s.dtype)?.kind === "complex" ? " (real and imaginary parts counted separately)" : "";
    report(ctx, "tensor-non-finite", `${parts.join(", ")} among ${s.numel} ${s.dtype} values${complex}`, { keyPath: s.path });
  }
}

/** Chunk size for streaming reads: a multiple of 16, so chunks cut only between values. */
export const STREAM_CHUNK = 16 * 2 ** 20;

/** Scans targets located by absolute file offsets, each range read in chunks. */
export function streamFileTargets(source: ByteSource, targets: readonly ValueTarget[] | undefined): void {
  for (const t of targets ?? []) {
    for (let pos = t.start; pos < t.end; pos += STREAM_CHUNK) {
      const n = Math.min(STREAM_CHUNK, t.end - pos, source.size - pos);
      if (n <= 0) break;
      let chunk: Uint8Array;
      try {
        chunk = source.bytes?.subarray(pos, pos + n) ?? source.readSync!(pos, n);
      } catch (e) {
        if (isTorchsaveError(e)) break;
        throw e;
      }
      observeChunk([t], chunk, pos);
    }
  }
}
