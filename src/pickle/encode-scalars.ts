/**
 * Values the encoder writes without visiting children: ints, bools, floats, str, raw bytes
 * payloads and globals. Each picks the smallest opcode the protocol allows, as CPython does.
 */
import { encodeTwosComplement } from "../bytes/bigint.js";
import { python2Name } from "./encode-compat.js";
import { emit, emitOpcode, encodeError, get, OP, put, type EncodeState } from "./encode-state.js";
import type { PyFloat, PyGlobal } from "./value.js";

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** `save_long`: BININT1/BININT2/BININT, then LONG1/LONG4 (protocol 2+) or the INT/LONG text forms. */
export function saveInt(st: EncodeState, value: number | bigint): void {
  let v = value;
  if (typeof v === "bigint" && v >= BigInt(INT32_MIN) && v <= BigInt(INT32_MAX)) v = Number(v);
  if (typeof v === "number" && v >= INT32_MIN && v <= INT32_MAX) {
    const n = v === 0 ? 0 : v; // -0 is the int 0
    if (st.proto >= 1) {
      if (n >= 0 && n <= 0xff) emit(st, OP.BININT1, n);
      else if (n >= 0 && n <= 0xffff) emit(st, OP.BININT2, n);
      else emit(st, OP.BININT, n);
    } else {
      emit(st, OP.INT, n);
    }
    return;
  }
  // Beyond 32 bits. Integral doubles past 2^53 are exact integers, so BigInt() is lossless.
  const big = typeof v === "number" ? BigInt(v) : v;
  if (st.proto >= 2) {
    const size = encodeTwosComplement(big).length;
    emit(st, size < 256 ? OP.LONG1 : OP.LONG4, big);
  } else {
    emit(st, OP.LONG, big);
  }
}

/** `save_bool`: NEWTRUE/NEWFALSE from protocol 2, else INT `01`/`00`. */
export function saveBool(st: EncodeState, v: boolean): void {
  if (st.proto >= 2) emit(st, v ? OP.NEWTRUE : OP.NEWFALSE);
  else emit(st, OP.INT, v);
}

/** `save_float`: BINFLOAT (keeping a NaN's payload bits) from protocol 1, else FLOAT repr text. */
export function saveFloat(st: EncodeState, f: PyFloat): void {
  const value = f.value;
  if (typeof value !== "number") throw encodeError(st, "invalid-argument", "a float's value is not a number");
  if (st.proto >= 1) {
    // nanBits only describes NaNs; anything else is written from the value.
    emit(st, OP.BINFLOAT, f.nanBits === undefined || Number.isNaN(value) ? f : { kind: "float", value });
  } else {
    emit(st, OP.FLOAT, value);
  }
}

/** UTF-8 length of a string as Python's `surrogatepass` encoder counts it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * `save_unicode`: SHORT_BINUNICODE (protocol 4+, up to 255 bytes), BINUNICODE, BINUNICODE8 (over
 * 4 GiB), or raw-unicode-escape UNICODE at protocol 0; then memoized. Strings are looked up and
 * registered by value, except `fresh` ones: strings the encoder makes up itself (the latin-1 text of
 * bytes below protocol 3, the parts of nested global names) take a memo slot but are not shared, as
 * CPython creates a new object for each.
 */
export function saveStr(st: EncodeState, s: string, fresh: boolean): void {
  // CPython keeps one object per 0- or 1-character latin-1 string, so even its "fresh" ones are shared.
  const shared = !fresh || s.length === 0 || (s.length === 1 && s.charCodeAt(0) < 0x100);
  if (shared) {
    const idx = st.strMemo.get(s);
    if (idx !== undefined) {
      get(st, idx);
      return;
    }
  }
  if (st.proto >= 1) {
    const n = utf8Length(s);
    if (n === s.length) {
      // ASCII (most dict keys and names): the bytes are the chars, no UTF-8 encoder round trip.
      if (n <= 0xff && st.proto >= 4) emitOpcode(st, OP.SHORT_BINUNICODE).u8(n).ascii(s);
      else emitOpcode(st, OP.BINUNICODE, n).u32(n).ascii(s);
    } else if (n <= 0xff && st.proto >= 4) emit(st, OP.SHORT_BINUNICODE, s);
    else if (n <= 0xffffffff) emit(st, OP.BINUNICODE, s, n);
    else if (st.proto >= 4) emit(st, OP.BINUNICODE8, s, n);
    else throw encodeError(st, "unencodable", "a str over 4 GiB of UTF-8 needs protocol 4 or higher");
  } else {
    emit(st, OP.UNICODE, s);
  }
  const idx = put(st);
  if (shared) st.strMemo.set(s, idx);
}

/** The bytes opcodes of `_save_bytes_data` (protocol 3+); memoizing is the caller's job. */
export function writeBytes(st: EncodeState, data: Uint8Array): void {
  const n = data.length;
  if (n <= 0xff) emit(st, OP.SHORT_BINBYTES, data);
  else if (n <= 0xffffffff) st.out.payload(emitOpcode(st, OP.BINBYTES, n).u32(n), data);
  else if (st.proto >= 4) st.out.payload(emitOpcode(st, OP.BINBYTES8, n).u64(n), data);
  else throw encodeError(st, "unencodable", "bytes over 4 GiB need protocol 4 or higher");
}

/** BYTEARRAY8 (protocol 5: a bytearray, or an in-band writable buffer); memoizing is the caller's job. */
export function writeByteArray(st: EncodeState, data: Uint8Array): void {
  st.out.payload(emitOpcode(st, OP.BYTEARRAY8, data.length).u64(data.length), data);
}

/** Memo key of a global: module and name, unambiguously joined. */
export const globalKey = (module: string, name: string): string => `${module.length}:${module}${name}`;

const GETATTR: PyGlobal = { kind: "global", module: "builtins", name: "getattr" };

/**
 * The module and name a text GLOBAL/INST line carries at this protocol: renamed to Python 2 names
 * below protocol 3 (`fix_imports`), ASCII below 3 and UTF-8 from 3 (as CPython requires), and never
 * containing a newline (it would end the line early).
 */
export function globalLine(st: EncodeState, module: string, name: string): readonly [string, string] {
  const pair = st.proto < 3 ? python2Name(module, name) : ([module, name] as const);
  for (const part of pair) {
    if (part.includes("\n")) throw encodeError(st, "unencodable", `global name ${JSON.stringify(part)} contains a newline`);
    if (st.proto < 3 ? /[^\x00-\x7f]/.test(part) : /[\ud800-\udfff]/u.test(part)) {
      throw encodeError(st, "unencodable", `can't write global ${module}.${name} with protocol ${st.proto} (${st.proto < 3 ? "not ASCII" : "lone surrogate"})`);
    }
  }
  return pair;
}

/**
 * `save_global`: STACK_GLOBAL from protocol 4; below, GLOBAL, or for a nested name (`Outer.Inner`)
 * `getattr(Outer, "Inner")` REDUCE chains as CPython writes them. Globals are memoized by name.
 */
export function saveGlobal(st: EncodeState, g: PyGlobal): void {
  const { module, name } = g;
  if (typeof module !== "string" || typeof name !== "string") {
    throw encodeError(st, "invalid-argument", "a global's module and name must be strings");
  }
  // The same PyGlobal object again (common: shared constants) skips building the name key.
  const seen = st.memo.get(g);
  if (seen !== undefined) {
    get(st, seen);
    return;
  }
  const key = globalKey(module, name);
  const idx = st.globalMemo.get(key);
  if (idx !== undefined) {
    st.memo.set(g, idx);
    get(st, idx);
    return;
  }
  if (st.proto >= 4) {
    st.out.boundary();
    saveStr(st, module, false);
    st.out.boundary();
    saveStr(st, name, false);
    emit(st, OP.STACK_GLOBAL);
  } else if (name.includes(".")) {
    saveDottedGlobal(st, module, name);
    return;
  } else {
    emit(st, OP.GLOBAL, globalLine(st, module, name));
  }
  const memoIdx = put(st);
  st.globalMemo.set(key, memoIdx);
  st.memo.set(g, memoIdx);
}

/** Protocol < 4 nested names: `getattr(getattr(Outer, "Inner"), "Deep")`, reusing memoized prefixes. */
function saveDottedGlobal(st: EncodeState, module: string, name: string): void {
  if (st.allowed !== undefined) {
    throw encodeError(st, "unencodable", `nested global ${module}.${name} needs builtins.getattr, which weights_only refuses`);
  }
  const parts = name.split(".");
  const prefix = (k: number): string => parts.slice(0, k).join(".");
  // The deepest enclosing name already written becomes the starting point.
  let base = 1;
  for (let k = parts.length - 1; k > 1; k--) {
    if (st.globalMemo.has(globalKey(module, prefix(k)))) {
      base = k;
      break;
    }
  }
  for (let level = parts.length; level > base; level--) {
    saveGlobal(st, GETATTR);
    if (st.proto < 2) emit(st, OP.MARK);
  }
  saveGlobal(st, { kind: "global", module, name: prefix(base) });
  for (let level = base + 1; level <= parts.length; level++) {
    saveStr(st, parts[level - 1]!, true);
    emit(st, st.proto >= 2 ? OP.TUPLE2 : OP.TUPLE);
    put(st);
    emit(st, OP.REDUCE);
    st.globalMemo.set(globalKey(module, prefix(level)), put(st));
  }
}
