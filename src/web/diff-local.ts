/**
 * Comparing two opened checkpoints tensor by tensor: keys only on one side, a `module.`-style
 * prefix that explains them, dtype and shape changes, and for tensors on both sides whether the
 * bytes are identical, the largest absolute change and ‖a−b‖₂/‖a‖₂. Rows are sorted by change,
 * largest first. DOM-free.
 */
import { formatKeyPath, type KeyPath } from "../errors.js";
import { tensorBytesAsync, type Tensor } from "../torch/index.js";
import type { DiffResult, DiffRow } from "./protocol.js";
import { tensorNumbers } from "./tensor-values.js";
import type { OpenedFile } from "./inspector.js";

/** Prefixes that wrappers add to every key (DataParallel, Lightning, torch.compile). */
export const KNOWN_PREFIXES = ["module.", "model.", "_orig_mod."] as const;

/** The key path with `prefix` removed from its last step (the state_dict key). */
function stripLast(path: KeyPath, prefix: string): KeyPath | undefined {
  const last = path[path.length - 1];
  if (typeof last !== "string" || !last.startsWith(prefix)) return undefined;
  return [...path.slice(0, -1), last.slice(prefix.length)];
}

export function matchKeys(a: readonly KeyPath[], b: readonly KeyPath[]): { pairs: [number, number][]; onlyA: number[]; onlyB: number[]; prefix?: { side: "a" | "b"; prefix: string } } {
  const index = (paths: readonly (KeyPath | undefined)[]) => {
    const m = new Map<string, number>();
    paths.forEach((p, i) => p !== undefined && !m.has(formatKeyPath(p)) && m.set(formatKeyPath(p), i));
    return m;
  };
  const pair = (pa: readonly (KeyPath | undefined)[], pb: readonly (KeyPath | undefined)[]) => {
    const ib = index(pb);
    const pairs: [number, number][] = [];
    pa.forEach((p, i) => {
      const j = p === undefined ? undefined : ib.get(formatKeyPath(p));
      if (j !== undefined) pairs.push([i, j]);
    });
    return pairs;
  };
  let best = { pairs: pair(a, b) } as { pairs: [number, number][]; prefix?: { side: "a" | "b"; prefix: string } };
  for (const prefix of KNOWN_PREFIXES) {
    const sa = pair(a.map((p) => stripLast(p, prefix)), b);
    if (sa.length > best.pairs.length) best = { pairs: sa, prefix: { side: "a", prefix } };
    const sb = pair(a, b.map((p) => stripLast(p, prefix)));
    if (sb.length > best.pairs.length) best = { pairs: sb, prefix: { side: "b", prefix } };
  }
  const inA = new Set(best.pairs.map(([i]) => i));
  const inB = new Set(best.pairs.map(([, j]) => j));
  return { ...best, onlyA: a.map((_, i) => i).filter((i) => !inA.has(i)), onlyB: b.map((_, j) => j).filter((j) => !inB.has(j)) };
}

async function compare(path: string, ta: Tensor, tb: Tensor): Promise<DiffRow> {
  const dtype = [ta.dtype, tb.dtype] as const;
  const shape = [ta.shape, tb.shape] as const;
  if (ta.dtype !== tb.dtype) return { path, status: "dtype", dtype, shape };
  if (ta.shape.length !== tb.shape.length || ta.shape.some((n, i) => n !== tb.shape[i])) return { path, status: "shape", dtype, shape };
  if (ta.storage === undefined || tb.storage === undefined || ta.layout !== "strided" || tb.layout !== "strided") return { path, status: "identical", dtype, shape };
  const [ba, bb] = [await tensorBytesAsync(ta), await tensorBytesAsync(tb)];
  let same = ba.length === bb.length;
  for (let i = 0; same && i < ba.length; i++) if (ba[i] !== bb[i]) same = false;
  if (same) return { path, status: "identical", dtype, shape, maxAbs: 0, relL2: 0, differing: 0 };
  const na = tensorNumbers(ta, ba);
  const nb = tensorNumbers(tb, bb);
  if (na === undefined || nb === undefined) return { path, status: "changed", dtype, shape };
  let maxAbs = 0;
  let diffSq = 0;
  let normSq = 0;
  let differing = 0;
  for (let i = 0; i < na.values.length; i++) {
    const x = na.values[i]!;
    const y = nb.values[i]!;
    if (!(x === y || (x !== x && y !== y))) differing++;
    const d = Math.abs(x - y);
    if (d > maxAbs || d !== d) maxAbs = d !== d ? maxAbs : d;
    if (d === d && d !== Infinity) diffSq += d * d;
    if (x - x === 0) normSq += x * x;
  }
  return { path, status: "changed", dtype, shape, maxAbs, relL2: normSq > 0 ? Math.sqrt(diffSq / normSq) : diffSq > 0 ? Infinity : 0, differing };
}

/** The diff of two opened files (storages loaded one pair at a time). */
export async function diffOpened(a: OpenedFile, b: OpenedFile): Promise<DiffResult> {
  const m = matchKeys(a.tree.paths, b.tree.paths);
  const rows: DiffRow[] = [];
  for (const [i, j] of m.pairs) {
    const ta = a.tree.tensors[i]!;
    const tb = b.tree.tensors[j]!;
    try {
      rows.push(await compare(formatKeyPath(a.tree.paths[i]!), ta, tb));
    } finally {
      if (a.source.bytes === undefined && ta.storage !== undefined) delete (ta.storage as { data?: Uint8Array }).data;
      if (b.source.bytes === undefined && tb.storage !== undefined) delete (tb.storage as { data?: Uint8Array }).data;
    }
  }
  const rank = (r: DiffRow) => (r.status === "dtype" || r.status === "shape" ? Infinity : r.relL2 ?? (r.status === "changed" ? Infinity : 0));
  rows.sort((x, y) => rank(y) - rank(x) || (x.path < y.path ? -1 : 1));
  const onlyA = m.onlyA.map((i) => formatKeyPath(a.tree.paths[i]!));
  const onlyB = m.onlyB.map((j) => formatKeyPath(b.tree.paths[j]!));
  return {
    a: a.name, b: b.name, onlyA, onlyB, ...(m.prefix === undefined ? {} : { prefix: m.prefix }), rows,
    equal: onlyA.length === 0 && onlyB.length === 0 && rows.every((r) => r.status === "identical"),
  };
}
