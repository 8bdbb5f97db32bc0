/**
 * The direct path for host values (`EncodeOptions.writeHost`): a caller writes a value's opcodes
 * itself, the way `encodePickle` would write the PyValue `reduceHost` returns, without building
 * that PyValue and without the frame machinery. Made for the one call a checkpoint repeats
 * thousands of times (torch's `_rebuild_tensor_v2(storage, offset, size, stride, ...)`).
 *
 * Each method writes exactly what the general encoder writes for the same value, including the
 * protocol-4 frame boundaries it marks at the start of every value, the memo slots the values it
 * would create take, and the weights-only opcode filter. Tuples begun here are the caller's own
 * (never shared): they take a memo slot but are never fetched.
 */
import { emit, get, OP, put, type EncodeState } from "./encode-state.js";
import { saveBool, saveFloat, saveGlobal, saveInt, saveStr } from "./encode-scalars.js";
import type { PyFloat, PyGlobal } from "./value.js";

/** A value {@link HostWriter.value} writes: it has no children. */
export type HostScalar = number | bigint | boolean | null | string | PyFloat | PyGlobal;

/** What `writeHost` writes through; see the file comment. */
export interface HostWriter {
  /** The protocol being written. */
  readonly protocol: number;
  /**
   * Frames the general encoder would push for a value written here, counting from the current
   * depth: `writeHost` must return false (leaving the value to `reduceHost`) when
   * `depthLeft()` is below that, so the depth limit errors the same way on both paths.
   */
  depthLeft(): number;
  /** When `key` was memoized ({@link reduce}), writes its memo fetch and returns true. */
  fetch(key: object): boolean;
  /** An int, bool, None, str, float or global, as the encoder writes it (`persistentId` is not asked). */
  value(v: HostScalar): void;
  /** Starts a fresh tuple of `n` items: EMPTY_TUPLE when `n` is 0, else MARK where the tuple needs one. */
  beginTuple(n: number): void;
  /** Ends the tuple begun by `beginTuple(n)`: TUPLE1-3 or TUPLE and its memo slot (nothing when `n` is 0). */
  endTuple(n: number): void;
  /** A fresh tuple of ints. */
  ints(items: readonly number[]): void;
  /** REDUCE of the callable and argument tuple just written, and its memo slot; `key` makes it fetchable. */
  reduce(key?: object): void;
  /** BINPERSID: the tuple just written is a persistent id. */
  persistentId(): void;
}

/** The {@link HostWriter} over an encoder's state. */
export function hostWriter(st: EncodeState): HostWriter {
  const short = st.proto >= 2;
  const w: HostWriter = {
    protocol: st.proto,
    depthLeft: () => st.maxDepth - st.frames.length,
    fetch(key) {
      const idx = st.memo.get(key);
      if (idx === undefined) return false;
      get(st, idx);
      return true;
    },
    value(v) {
      st.out.boundary();
      switch (typeof v) {
        case "number":
        case "bigint":
          return saveInt(st, v);
        case "boolean":
          return saveBool(st, v);
        case "string":
          return saveStr(st, v, false);
        default:
          if (v === null) return emit(st, OP.NONE);
          return v.kind === "float" ? saveFloat(st, v) : saveGlobal(st, v);
      }
    },
    beginTuple(n) {
      st.out.boundary();
      if (n === 0) {
        if (st.proto >= 1) emit(st, OP.EMPTY_TUPLE);
        else {
          emit(st, OP.MARK);
          emit(st, OP.TUPLE);
        }
      } else if (n > 3 || !short) emit(st, OP.MARK);
    },
    endTuple(n) {
      if (n === 0) return;
      emit(st, n > 3 || !short ? OP.TUPLE : n === 1 ? OP.TUPLE1 : n === 2 ? OP.TUPLE2 : OP.TUPLE3);
      put(st);
    },
    ints(items) {
      const n = items.length;
      w.beginTuple(n);
      for (let i = 0; i < n; i++) {
        st.out.boundary();
        saveInt(st, items[i]!);
      }
      w.endTuple(n);
    },
    reduce(key) {
      emit(st, OP.REDUCE);
      const idx = put(st);
      if (key !== undefined) st.memo.set(key, idx);
    },
    persistentId() {
      emit(st, OP.BINPERSID);
    },
  };
  return w;
}
