/**
 * The arithmetic of DeepSpeed's `zero_to_fp32.py` on flat fp32 vectors, free of files: splitting
 * each rank's partitions back into named parameters.
 * - ZeRO-1/2 (`_zero2_merge_trainable_params`): per param group, the ranks' slices concatenate to
 *   the group's flat vector; parameters follow one another in `param_shapes` order. DeepSpeed pads
 *   the vector to a multiple of 2·world_size before cutting it and strips that padding again when
 *   saving, so the consumed and available sizes must agree once both are rounded up to 2·world_size.
 * - ZeRO-3 (`_zero3_merge_trainable_params`): each rank's sub-groups concatenate to one flat vector
 *   holding, per parameter in order, ceil(numel / world_size) elements; a parameter is its slices
 *   from every rank, concatenated, cut to numel. Consumed · world_size must equal rank 0's size.
 */
import { CheckpointError } from "../errors.js";

/** A parameter's name and shape, in the order the flat vectors hold them. */
export interface ZeroParam {
  readonly name: string;
  readonly shape: readonly number[];
}

/** One rank's flat vectors (one per param group / sub-group) and the file they came from. */
export interface ZeroRankGroups {
  readonly file: string;
  readonly groups: readonly Float32Array[];
}

export const numelOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** ZeRO-1/2: `groups[g]` lists group g's parameters. Returns name → values, in order. */
export function mergeZero2(worldSize: number, ranks: readonly ZeroRankGroups[], groups: readonly (readonly ZeroParam[])[], what: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const r of ranks) {
    if (r.groups.length !== groups.length) {
      throw new CheckpointError("invalid-data", `${what}: ${r.groups.length} param groups, but param_shapes lists ${groups.length}`, { file: r.file });
    }
  }
  const align = 2 * worldSize;
  const aligned = (x: number): number => align * Math.ceil(x / align);
  groups.forEach((params, g) => {
    const avail = ranks.reduce((n, r) => n + r.groups[g]!.length, 0);
    const full = new Float32Array(avail);
    let at = 0;
    for (const r of ranks) {
      full.set(r.groups[g]!, at);
      at += r.groups[g]!.length;
    }
    let offset = 0;
    for (const p of params) {
      const n = numelOf(p.shape);
      if (offset + n > avail) {
        throw new CheckpointError("invalid-data", `${what}: param group ${g} holds ${avail} numels across ${ranks.length} ranks, too few for ${JSON.stringify(p.name)} (needs ${offset + n})`, { file: ranks[ranks.length - 1]!.file, path: [p.name] });
      }
      out.set(p.name, full.slice(offset, offset + n));
      offset += n;
    }
    if (aligned(offset) !== aligned(avail)) {
      throw new CheckpointError("invalid-data", `${what}: param group ${g} consumed ${offset} numels out of ${avail} (more than the padding to 2·world_size = ${align} explains)`, { file: ranks[ranks.length - 1]!.file });
    }
  });
  return out;
}

/** ZeRO-3: `params` are all trainable parameters in order (every group's, concatenated). */
export function mergeZero3(worldSize: number, ranks: readonly ZeroRankGroups[], params: readonly ZeroParam[], what: string): Map<string, Float32Array> {
  const flats = ranks.map((r) => {
    const len = r.groups.reduce((n, g) => n + g.length, 0);
    const flat = new Float32Array(len);
    let at = 0;
    for (const g of r.groups) {
      flat.set(g, at);
      at += g.length;
    }
    return flat;
  });
  const size = flats[0]!.length;
  flats.forEach((f, i) => {
    if (f.length !== size) throw new CheckpointError("invalid-data", `${what}: rank ${i} holds ${f.length} numels, rank 0 ${size}; ZeRO-3 partitions are equal`, { file: ranks[i]!.file });
  });
  const out = new Map<string, Float32Array>();
  let offset = 0;
  for (const p of params) {
    const n = numelOf(p.shape);
    const part = Math.ceil(n / worldSize);
    if (offset + part > size) {
      throw new CheckpointError("invalid-data", `${what}: a rank's partition holds ${size} numels, too few for ${JSON.stringify(p.name)} (needs ${offset + part})`, { file: ranks[0]!.file, path: [p.name] });
    }
    const v = new Float32Array(n);
    for (let r = 0, at = 0; r < worldSize && at < n; r++) {
      const take = Math.min(part, n - at);
      v.set(flats[r]!.subarray(offset, offset + take), at);
      at += take;
    }
    out.set(p.name, v);
    offset += part;
  }
  if (offset * worldSize !== size * worldSize) {
    throw new CheckpointError("invalid-data", `${what}: consumed ${offset * worldSize} numels out of ${size * worldSize}`, { file: ranks[0]!.file });
  }
  return out;
}
