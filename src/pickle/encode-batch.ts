/**
 * How items are grouped into APPEND(S), SETITEM(S) and ADDITEMS batches. CPython has three
 * slightly different loops (exact list, exact dict/set, and iterator-fed `__reduce__` items); this
 * file reproduces each so the batches match `pickle.dumps` byte for byte.
 */
import { Batch, emit, OP, type EncodeState } from "./encode-state.js";
import type { OpcodeInfo } from "./opcodes.js";

/** CPython's `BATCHSIZE`. */
export const BATCH_SIZE = 1000;

/** True when item `e` of `n` is written with the single-item opcode (APPEND/SETITEM). */
function single(batch: Batch, e: number, n: number): boolean {
  switch (batch) {
    case Batch.EachItem:
      return true;
    case Batch.ExactList:
    case Batch.ExactDict:
      return n === 1;
    case Batch.IterList:
    case Batch.IterDict:
      // The batch holding `e` has exactly one item.
      return e - (e % BATCH_SIZE) === n - 1;
    default:
      return false;
  }
}

function singleOp(pairs: boolean): OpcodeInfo {
  return pairs ? OP.SETITEM : OP.APPEND;
}

function batchOp(batch: Batch, pairs: boolean): OpcodeInfo {
  if (batch === Batch.ExactSet || batch === Batch.IterSet) return OP.ADDITEMS;
  return pairs ? OP.SETITEMS : OP.APPENDS;
}

/** Written before item `e` of `n`: the MARK opening a batch. */
export function beforeItem(st: EncodeState, batch: Batch, e: number, n: number): void {
  if (batch === Batch.Plain) return;
  if (e % BATCH_SIZE === 0 && !single(batch, e, n)) emit(st, OP.MARK);
}

/** Written after item `e` of `n`: APPEND/SETITEM, or the opcode closing a full or final batch. */
export function afterItem(st: EncodeState, batch: Batch, pairs: boolean, e: number, n: number): void {
  if (batch === Batch.Plain) return;
  if (single(batch, e, n)) emit(st, singleOp(pairs));
  else if (e % BATCH_SIZE === BATCH_SIZE - 1 || e === n - 1) emit(st, batchOp(batch, pairs));
}

/** Written after all `n` items: the C pickler's empty trailing batch after a full one (dict, set). */
export function afterAll(st: EncodeState, batch: Batch, pairs: boolean, n: number): void {
  if ((batch === Batch.ExactDict || batch === Batch.ExactSet) && n > 0 && n % BATCH_SIZE === 0) {
    emit(st, OP.MARK);
    emit(st, batchOp(batch, pairs));
  }
}
