/**
 * The decoder's memo with pruning: entries the pickle never reads back (see decode-fetches.ts)
 * are counted but not kept, and objects stored where they are read back are remembered as
 * shared (the only way one object is reached twice). Without a scan every entry is kept and
 * everything counts as shared.
 */
import { PickleDecodeError } from "../errors.js";
import { isFetched, type MemoFetches } from "./decode-fetches.js";
import { memoGet, memoPut, newMemo, type Memo } from "./decode-memo.js";
import type { PyValue } from "./value.js";

/** One decode's memo. Limit errors carry no location: the decoder adds the failing opcode's. */
export interface MemoKeeper<X> {
  readonly memo: Memo<X>;
  /** memo[index] = value (PUT, BINPUT, LONG_BINPUT, MEMOIZE). @throws `limit-exceeded` past maxMemo. */
  put(index: number | bigint, value: PyValue<X>): void;
  /** memo[index], or undefined when there is none. */
  get(index: number | bigint): PyValue<X> | undefined;
  /** See `ReduceContext.shared`. */
  shared(value: PyValue<X>): boolean;
}

export function memoKeeper<X>(fetches: MemoFetches | undefined, maxMemo: number): MemoKeeper<X> {
  const memo = newMemo<X>();
  const dense = memo.dense;
  const sharedValues = new Set<unknown>();
  // The common answer, "not read back", straight from the bitmap (the scan is done: it no longer grows).
  const bits = fetches?.bits;
  const bitCount = bits === undefined ? 0 : bits.length * 8;
  const overLimit = (): PickleDecodeError => new PickleDecodeError("limit-exceeded", `memo would exceed maxMemo (${maxMemo}) entries`);

  /** True when the scan saw a fetch of `index` (always true without a scan). */
  const fetched = (index: number | bigint): boolean => {
    if (fetches === undefined) return true;
    if (typeof index === "number" && index < bitCount) return (bits![index >>> 3]! & (1 << (index & 7))) !== 0;
    return isFetched(fetches, index);
  };
  /** What the entry at `index` holds: `value` when it is read back, else nothing. */
  const retained = (index: number | bigint, value: PyValue<X>): PyValue<X> => {
    if (fetches === undefined) return value;
    if (!fetched(index)) return undefined as unknown as PyValue<X>;
    if (typeof value === "object" && value !== null) sharedValues.add(value);
    return value;
  };

  if (fetches !== undefined) {
    // With a scan, the memo as Python writes it (indices 0, 1, 2... in order) is only counted:
    // `length` of its indices are taken, and the few entries read back are kept in `kept`. An
    // optimizer's pickle PUTs 280,000 objects and reads back 8: no array of 280,000 holes. Any
    // other index goes to `memo` (memoPut), whose array part then takes over from `length`.
    let length = 0;
    const kept = new Map<number, PyValue<X>>();
    return {
      memo,
      put(index, value) {
        if (typeof index === "number") {
          if (index < length) {
            if (fetched(index)) kept.set(index, retained(index, value));
            return;
          }
          if (index === length && memo.sparse === undefined && dense.length === 0) {
            length++;
            if (++memo.count > maxMemo) throw overLimit();
            if (fetched(index)) kept.set(index, retained(index, value));
            return;
          }
        }
        memoPut(memo, index, retained(index, value));
        if (memo.count > maxMemo) throw overLimit();
      },
      get(index) {
        return typeof index === "number" && index < length ? kept.get(index) : memoGet(memo, index);
      },
      shared(value) {
        return typeof value === "object" && value !== null && sharedValues.has(value);
      },
    };
  }

  return {
    memo,
    put(index, value) {
      // The memo as Python writes it (dense from 0) is served inline; anything else goes through memoPut.
      if (typeof index === "number" && index < dense.length) dense[index] = value;
      else if (index === dense.length && memo.sparse === undefined) {
        dense.push(value);
        if (++memo.count > maxMemo) throw overLimit();
      } else {
        memoPut(memo, index, value);
        if (memo.count > maxMemo) throw overLimit();
      }
    },
    get(index) {
      return typeof index === "number" && index < dense.length ? dense[index] : memoGet(memo, index);
    },
    shared: () => true,
  };
}
