/**
 * The unpickler's memo: index → value, as Python's dict. Pickles written by Python number their
 * memo densely from 0, so those indices live in an array; any other index (sparse, huge, a bigint
 * from a text PUT) goes to a Map, which never allocates by the index's size.
 */
import type { PyValue } from "./value.js";

/** One decode call's memo. Plain data; use {@link memoGet} and {@link memoPut}. */
export interface Memo<X> {
  /** Entries 0 .. dense.length-1, all present. */
  readonly dense: PyValue<X>[];
  /** Entries at any other index; created on first use. */
  sparse: Map<number | bigint, PyValue<X>> | undefined;
  /** Number of distinct indices stored (Python's `len(memo)`, which MEMOIZE uses as its index). */
  count: number;
}

/** An empty memo. */
export function newMemo<X>(): Memo<X> {
  return { dense: [], sparse: undefined, count: 0 };
}

/** The value stored at `index`, or undefined when there is none. */
export function memoGet<X>(memo: Memo<X>, index: number | bigint): PyValue<X> | undefined {
  if (typeof index === "number" && index >= 0 && index < memo.dense.length) return memo.dense[index];
  return memo.sparse?.get(index);
}

/** Stores `value` at `index` (a non-negative int), replacing any earlier value there. */
export function memoPut<X>(memo: Memo<X>, index: number | bigint, value: PyValue<X>): void {
  const dense = memo.dense;
  if (typeof index === "number") {
    if (index < dense.length) {
      dense[index] = value;
      return;
    }
    if (index === dense.length) {
      // An index written out of order earlier moves from the Map into the array.
      if (memo.sparse === undefined || !memo.sparse.delete(index)) memo.count++;
      dense.push(value);
      return;
    }
  }
  const sparse = (memo.sparse ??= new Map());
  if (!sparse.has(index)) memo.count++;
  sparse.set(index, value);
}
