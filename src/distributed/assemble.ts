/**
 * Putting a sharded tensor back together: the chunks' boxes are checked the way torch's planner
 * checks them (inside the tensor, no two overlapping, volumes adding up to the tensor's), then each
 * chunk's contiguous bytes are copied into the full row-major tensor, one contiguous run at a time
 * (trailing dimensions a chunk spans completely merge into one run).
 */
import { CheckpointError } from "../errors.js";
import type { KeyPath } from "../errors.js";

/** A box of a tensor: where it starts and how far it reaches, per dimension. */
export interface Box {
  readonly offsets: readonly number[];
  readonly sizes: readonly number[];
}

/** Pairs of chunks the overlap check may compare before refusing (torch compares all pairs). */
export const MAX_OVERLAP_PAIRS = 50_000_000;

/**
 * Checks that `boxes` tile `shape` exactly.
 * @throws CheckpointError `invalid-data` (with `path`) for a box out of bounds, two overlapping
 *   boxes or volumes that do not add up; `limit-exceeded` for more chunks than the check allows.
 */
export function checkTiling(shape: readonly number[], boxes: readonly Box[], path: KeyPath, file?: string): void {
  const where = file === undefined ? { path } : { path, file };
  const fail = (reason: string): never => {
    throw new CheckpointError("invalid-data", reason, where);
  };
  const volume = product(shape);
  if (boxes.length === 0) {
    if (volume === 0) return;
    fail("a tensor with elements has no chunks");
  }
  if ((boxes.length * (boxes.length - 1)) / 2 > MAX_OVERLAP_PAIRS) {
    throw new CheckpointError("limit-exceeded", `${boxes.length} chunks are too many to check for overlaps`, where);
  }
  let sum = 0;
  for (const b of boxes) {
    if (b.offsets.length !== shape.length || b.sizes.length !== shape.length) fail("a chunk's rank differs from the tensor's");
    for (let d = 0; d < shape.length; d++) {
      if (b.offsets[d]! + b.sizes[d]! > shape[d]!) fail(`chunk at [${b.offsets.join(", ")}] of size [${b.sizes.join(", ")}] reaches past the tensor's size [${shape.join(", ")}]`);
    }
    sum += product(b.sizes);
  }
  for (let i = 0; i < boxes.length; i++) {
    const a = boxes[i]!;
    if (product(a.sizes) === 0) continue;
    for (let j = i + 1; j < boxes.length; j++) {
      const b = boxes[j]!;
      if (product(b.sizes) !== 0 && overlaps(a, b)) fail(`chunks at [${a.offsets.join(", ")}] and [${b.offsets.join(", ")}] overlap`);
    }
  }
  if (sum !== volume) fail(`the chunks hold ${sum} elements, the tensor [${shape.join(", ")}] has ${volume}`);
}

function overlaps(a: Box, b: Box): boolean {
  for (let d = 0; d < a.offsets.length; d++) {
    if (a.offsets[d]! >= b.offsets[d]! + b.sizes[d]! || b.offsets[d]! >= a.offsets[d]! + a.sizes[d]!) return false;
  }
  return true;
}

export function product(xs: readonly number[]): number {
  let n = 1;
  for (const x of xs) n *= x;
  return n;
}

/**
 * Copies a chunk's contiguous row-major bytes (`box.sizes`) into `out`, the full tensor's row-major
 * bytes (`shape`), at the chunk's box. `itemSize` is the element size in bytes.
 */
export function scatterChunk(out: Uint8Array, shape: readonly number[], itemSize: number, box: Box, chunk: Uint8Array): void {
  const rank = shape.length;
  if (rank === 0) {
    out.set(chunk.subarray(0, itemSize), 0);
    return;
  }
  // Dimensions k.. that the chunk spans completely (and the one before them) form one run.
  let k = rank - 1;
  while (k > 0 && box.offsets[k] === 0 && box.sizes[k] === shape[k]) k--;
  let run = itemSize;
  for (let d = k; d < rank; d++) run *= box.sizes[d]!;
  if (run === 0) return;
  // Byte strides of the full tensor.
  const strides = new Array<number>(rank);
  let s = itemSize;
  for (let d = rank - 1; d >= 0; d--) {
    strides[d] = s;
    s *= shape[d]!;
  }
  let base = 0;
  for (let d = 0; d < rank; d++) base += box.offsets[d]! * strides[d]!;
  const counter = new Array<number>(k).fill(0);
  let src = 0;
  for (;;) {
    let dst = base;
    for (let d = 0; d < k; d++) dst += counter[d]! * strides[d]!;
    out.set(chunk.subarray(src, src + run), dst);
    src += run;
    let d = k - 1;
    while (d >= 0) {
      counter[d]!++;
      if (counter[d]! < box.sizes[d]!) break;
      counter[d] = 0;
      d--;
    }
    if (d < 0) return;
  }
}
