/** Comparing two arrays element by element in float64: the numbers of one `changed` row of a diff. */
import type { DTypeName } from "../torch/index.js";
import type { ElementReader } from "./elements.js";
import { CHUNK_ELEMENTS, elementReader } from "./elements.js";

/** The element-wise comparison of two same-shaped arrays. */
export interface ArrayComparison {
  /** Every element equal (NaN equal to NaN) and the dtypes and bytes the same. */
  readonly identical: boolean;
  /** Largest |a − b| over the pairs where both are finite. */
  readonly maxAbs: number;
  /** Mean |a − b| over the pairs where both are finite (0 when there are none). */
  readonly meanAbs: number;
  /** ‖a − b‖₂ / ‖a‖₂ over finite pairs; 0 when both are 0, null when only ‖a‖₂ is 0. */
  readonly relL2: number | null;
  /** a·b / (‖a‖₂‖b‖₂) over finite pairs; null when either norm is 0. */
  readonly cosine: number | null;
  /** Elements where |a − b| > atol + rtol·|b| (torch.allclose), or where one side is NaN/Inf and the other not the same. */
  readonly differing: number;
  readonly nan: readonly [number, number];
  readonly inf: readonly [number, number];
  /** ‖a − b‖₂ over finite pairs. */
  readonly l2: number;
}

export interface Tolerance {
  readonly atol: number;
  readonly rtol: number;
}

/** Compares element bytes `a` (dtype `da`) with `b` (dtype `db`); both must hold the same number of elements. */
export function compareArrays(a: Uint8Array, da: DTypeName, b: Uint8Array, db: DTypeName, tol: Tolerance): ArrayComparison {
  const ra = elementReader(a, da);
  const rb = elementReader(b, db);
  const acc = { maxAbs: 0, sumAbs: 0, sumSq: 0, sa: 0, sb: 0, sab: 0, pairs: 0, differing: 0, nanA: 0, nanB: 0, infA: 0, infB: 0, same: true };
  const run = Math.min(ra.maxRun, rb.maxRun, CHUNK_ELEMENTS * 16);
  const n = Math.min(ra.length, rb.length);
  for (let s = 0; s < n; s += run) {
    const e = Math.min(n, s + run);
    compareRun(read(ra, s, e), read(rb, s, e), e - s, tol, acc);
  }
  const identical = acc.same && da === db && ra.length === rb.length && bytesEqual(a, b);
  const normA = Math.sqrt(acc.sa);
  const normB = Math.sqrt(acc.sb);
  const dist = Math.sqrt(acc.sumSq);
  return {
    identical,
    maxAbs: acc.maxAbs,
    meanAbs: acc.pairs > 0 ? acc.sumAbs / acc.pairs : 0,
    relL2: normA > 0 ? dist / normA : dist === 0 ? 0 : null,
    cosine: normA > 0 && normB > 0 ? Math.max(-1, Math.min(1, acc.sab / (normA * normB))) : null,
    differing: acc.differing,
    nan: [acc.nanA, acc.nanB],
    inf: [acc.infA, acc.infB],
    l2: dist,
  };
}

function read(r: ElementReader, s: number, e: number): { readonly x: ArrayLike<number>; readonly offset: number } {
  return r.read(s, e);
}

interface Totals {
  maxAbs: number; sumAbs: number; sumSq: number; sa: number; sb: number; sab: number; pairs: number;
  differing: number; nanA: number; nanB: number; infA: number; infB: number; same: boolean;
}

function compareRun(
  ra: { readonly x: ArrayLike<number>; readonly offset: number },
  rb: { readonly x: ArrayLike<number>; readonly offset: number },
  n: number, tol: Tolerance, t: Totals,
): void {
  const xa = ra.x;
  const xb = rb.x;
  const oa = ra.offset;
  const ob = rb.offset;
  const { atol, rtol } = tol;
  let maxAbs = t.maxAbs;
  let sumAbs = 0;
  let sumSq = 0;
  let sa = 0;
  let sb = 0;
  let sab = 0;
  let pairs = 0;
  let differing = 0;
  let odd = 0;
  for (let i = 0; i < n; i++) {
    const av = xa[oa + i]!;
    const bv = xb[ob + i]!;
    if (av - av === 0 && bv - bv === 0) {
      const d = av - bv;
      const ad = d < 0 ? -d : d;
      pairs++;
      sumAbs += ad;
      sumSq += d * d;
      sa += av * av;
      sb += bv * bv;
      sab += av * bv;
      if (ad > maxAbs) maxAbs = ad;
      if (ad > atol + rtol * (bv < 0 ? -bv : bv)) differing++;
      else if (ad !== 0) t.same = false;
    } else odd++;
  }
  if (differing > 0) t.same = false;
  if (odd > 0) {
    for (let i = 0; i < n; i++) {
      const av = xa[oa + i]!;
      const bv = xb[ob + i]!;
      if (av - av === 0 && bv - bv === 0) continue;
      if (av !== av) t.nanA++;
      else if (av - av !== 0) t.infA++;
      if (bv !== bv) t.nanB++;
      else if (bv - bv !== 0) t.infB++;
      if (!(av === bv || (av !== av && bv !== bv))) {
        differing++;
        t.same = false;
      }
    }
  }
  t.maxAbs = maxAbs;
  t.sumAbs += sumAbs;
  t.sumSq += sumSq;
  t.sa += sa;
  t.sb += sb;
  t.sab += sab;
  t.pairs += pairs;
  t.differing += differing;
}

/** Byte equality, 4 bytes at a time where both views are aligned. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  if (a === b) return true;
  let i = 0;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const words = a.length >>> 2;
    const wa = new Uint32Array(a.buffer as ArrayBuffer, a.byteOffset, words);
    const wb = new Uint32Array(b.buffer as ArrayBuffer, b.byteOffset, words);
    for (let k = 0; k < words; k++) if (wa[k] !== wb[k]) return false;
    i = words * 4;
  }
  for (; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
