/**
 * The frame loop: runs the steps of the frame on top of the encoder's explicit stack until the
 * stack is empty. No recursion, so nesting depth is bounded by memory and `maxDepth`, not by the
 * JS call stack.
 */
import { afterAll, afterItem, beforeItem } from "./encode-batch.js";
import { emit, encodeError, get, OP, type Batch, type EncodeState, type Frame } from "./encode-state.js";
import type { OpcodeInfo } from "./opcodes.js";
import { memoizeValue, pathKeyOf, save } from "./encode-values.js";

/**
 * Runs frames until every pushed frame is finished, or (streaming) until at least `st.pauseAt`
 * bytes of output are pending; true when it paused (call again after draining the output).
 */
export function runFrames(st: EncodeState): boolean {
  const frames = st.frames;
  while (frames.length > 0) {
    if (st.out.pending >= st.pauseAt) return true;
    const f = frames[frames.length - 1]!;
    if (advance(st, f)) continue;
    frames.pop();
    if (f.v !== undefined) {
      const count = st.active.get(f.v)!;
      if (count <= 1) st.active.delete(f.v);
      else st.active.set(f.v, count - 1);
    }
  }
  return false;
}

/** Runs `f`'s steps; true when a child frame was pushed (resume later), false when `f` is done. */
function advance(st: EncodeState, f: Frame): boolean {
  const ops = f.ops;
  while (f.pc < ops.length) {
    const s = ops[f.pc]!;
    switch (s.t) {
      case "field":
        f.pc++;
        if (save(st, s.field === "a" ? f.a : s.field === "b" ? f.b : f.c, undefined, s.pers)) return true;
        break;
      case "save":
        f.pc++;
        if (save(st, s.v, s.key, s.pers)) return true;
        break;
      case "emit":
        st.curKey = undefined;
        f.pc++;
        emit(st, s.op, s.arg);
        break;
      case "own-seq":
        if (runSeq(st, f, f.items!, f.batch, f.pairs, f.keyed)) return true;
        f.pc++;
        f.i = 0;
        break;
      case "seq":
        if (runSeq(st, f, s.items, s.batch, s.pairs, s.keyed)) return true;
        f.pc++;
        f.i = 0;
        break;
      case "close-tuple":
        st.curKey = undefined;
        f.pc++;
        closeTuple(st, f, f.items!.length);
        break;
      case "close-frozenset":
        st.curKey = undefined;
        f.pc++;
        closeWith(st, f, OP.POP_MARK, OP.FROZENSET);
        break;
      case "close-object":
        st.curKey = undefined;
        f.pc++;
        // Written meanwhile (it contains itself): CPython drops this copy and fetches the memoized one.
        if (closeWith(st, f, OP.POP, undefined)) f.pc = ops.length;
        break;
    }
  }
  return false;
}

/**
 * Saves a sequence's children with their batching opcodes; true when a child frame was pushed or
 * (streaming) enough output is pending to pause between two children.
 */
function runSeq(st: EncodeState, f: Frame, items: readonly unknown[], batch: Batch, pairs: boolean, keyed: boolean): boolean {
  const n = items.length;
  const width = pairs ? 2 : 1;
  if (f.after) {
    f.after = false;
    st.curKey = undefined;
    afterItem(st, batch, pairs, f.i / width - 1, n);
  }
  while (f.i < n * width) {
    if (st.out.pending >= st.pauseAt) return true;
    const c = f.i;
    const e = pairs ? c >> 1 : c;
    const last = !pairs || (c & 1) === 1;
    if (!pairs || (c & 1) === 0) {
      st.curKey = undefined;
      beforeItem(st, batch, e, n);
    }
    f.i = c + 1;
    let child: unknown;
    let key: string | number | undefined;
    if (pairs) {
      const entry = items[e];
      if (!Array.isArray(entry) || entry.length !== 2) {
        throw encodeError(st, "invalid-argument", "a dict entry must be a [key, value] array");
      }
      child = entry[c & 1];
      key = keyed ? pathKeyOf(entry[0]) : undefined;
    } else {
      child = items[e];
      key = keyed ? e : undefined;
    }
    if (save(st, child, key, true)) {
      if (last) f.after = true;
      return true;
    }
    if (last) {
      st.curKey = undefined;
      afterItem(st, batch, pairs, e, n);
    }
  }
  afterAll(st, batch, pairs, n);
  return false;
}

function closeTuple(st: EncodeState, f: Frame, n: number): void {
  const short = n <= 3 && st.proto >= 2;
  const idx = f.fresh ? undefined : st.memo.get(f.v!);
  if (idx === undefined) {
    emit(st, short ? ([OP.TUPLE1, OP.TUPLE2, OP.TUPLE3] as const)[n - 1]! : OP.TUPLE);
    memoizeValue(st, f.v!, f.fresh);
    return;
  }
  // The tuple contains itself and was written meanwhile: drop this copy, fetch the memoized one.
  if (short) for (let k = 0; k < n; k++) emit(st, OP.POP);
  else if (st.proto >= 1) emit(st, OP.POP_MARK);
  else for (let k = 0; k <= n; k++) emit(st, OP.POP);
  get(st, idx);
}

/**
 * Ends a frame whose value is memoized after its contents: `done` + memo, or when the value was
 * memoized meanwhile, `drop` + GET. Returns true in the second case.
 */
function closeWith(st: EncodeState, f: Frame, drop: OpcodeInfo, done: OpcodeInfo | undefined): boolean {
  const idx = f.fresh ? undefined : st.memo.get(f.v!);
  if (idx === undefined) {
    if (done !== undefined) emit(st, done);
    memoizeValue(st, f.v!, f.fresh);
    return false;
  }
  emit(st, drop);
  get(st, idx);
  return true;
}
