/**
 * Built-in reducers: the few standard-library calls whose result the value model can state exactly,
 * so a pickle decodes to the same value at every protocol (protocol 2 writes `set([1])` as a
 * REDUCE of `builtins.set`, protocol 4 as EMPTY_SET + ADDITEMS; both give a {@link PySet}).
 * Nothing here executes anything: each reducer checks the argument shapes and builds data, or
 * returns undefined so the call stays an inert {@link PyObject}. None of them throws.
 */
import type { Reducer, ReduceContext, ReducerRegistry } from "./decoder.js";
import { dictSetItem, setAddItem, tagOf, unhashableType, type KeyIndexes } from "./decode-keys.js";
import { encodeLatin1, encodeUtf8 } from "../bytes/text.js";
import {
  pyByteArray, pyBytes, pyComplex, pyDict, pyFrozenSet, pySet, pyTuple,
  type PyBytes, type PyDict, type PyFloat, type PyObject, type PyTuple, type PyValue,
} from "./value.js";

/** The positional arguments of a call, or undefined when they are not a tuple. */
function callArgs<X>(args: PyValue<X>): PyValue<X>[] | undefined {
  return tagOf(args) === "tuple" ? (args as PyTuple<X>).items : undefined;
}

/** True for a call of the type itself (`T(...)`), false for `T.__new__(T, ...)` (NEWOBJ/NEWOBJ_EX). */
const isCall = (ctx: ReduceContext<unknown>): boolean => ctx.via === "reduce" || ctx.via === "inst" || ctx.via === "obj";

/** The items of an iterable argument: list, tuple, set, frozenset, or a dict's keys. */
function iterableItems<X>(v: PyValue<X>): PyValue<X>[] | undefined {
  switch (tagOf(v)) {
    case "list":
    case "tuple":
    case "set":
    case "frozenset":
      return (v as { items: PyValue<X>[] }).items;
    case "dict":
      return (v as PyDict<X>).entries.map((e) => e[0]);
    default:
      return undefined;
  }
}

/** The distinct items in first-seen order (Python set semantics), or undefined if one is unhashable. */
function distinct<X>(items: PyValue<X>[]): PyValue<X>[] | undefined {
  const out: PyValue<X>[] = [];
  const indexes: KeyIndexes = new WeakMap();
  for (const item of items) {
    if (unhashableType(item) !== undefined) return undefined;
    setAddItem(indexes, out, item);
  }
  return out;
}

/** Python codec names as `codecs.lookup` normalises them, for the encodings text→bytes needs. */
function encodeText(text: string, encoding: string): Uint8Array | undefined {
  const name = encoding.toLowerCase().replace(/[-_ ]/g, "");
  switch (name) {
    case "latin1":
    case "iso88591":
    case "l1":
    case "8859":
    case "cp819":
      return encodeLatin1(text);
    case "ascii":
    case "usascii": {
      const out = encodeLatin1(text);
      return out !== undefined && out.every((b) => b < 0x80) ? out : undefined;
    }
    case "utf8":
      return hasLoneSurrogate(text) ? undefined : encodeUtf8(text);
    default:
      return undefined;
  }
}

function hasLoneSurrogate(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00) {
      const next = s.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next < 0xe000)) return true;
      i++;
    } else if (c >= 0xdc00 && c < 0xe000) {
      return true;
    }
  }
  return false;
}

/** The bytes `bytes(...)`/`bytearray(...)` would hold for `()`, `(bytes,)` or `(str, encoding)`. */
function bufferArgs<X>(items: PyValue<X>[]): Uint8Array | undefined {
  if (items.length === 0) return new Uint8Array(0);
  const [first, encoding] = items;
  if (items.length === 1) {
    const k = tagOf(first);
    return k === "bytes" || k === "bytearray" ? (first as PyBytes).data : undefined;
  }
  if (items.length === 2 && typeof first === "string" && typeof encoding === "string") return encodeText(first, encoding);
  return undefined;
}

/** A Python int, bool or float as a JS number; undefined when Python's `float()` would refuse it. */
function toFloat(v: PyValue<unknown>): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "boolean") return v ? 1 : 0;
  if (typeof v === "bigint") {
    const f = Number(v);
    return Number.isFinite(f) ? f : undefined; // Python: OverflowError, int too large to convert to float
  }
  return tagOf(v) === "float" ? (v as PyFloat).value : undefined;
}

/**
 * `collections.OrderedDict`: a {@link PyDict} whose `type` is the global. `OrderedDict()` and
 * `cls.__new__(cls)` give an empty dict (SETITEMS fill it later, BUILD sets `state`);
 * `OrderedDict(mapping)` and `OrderedDict([[k, v], ...])` (Python 2's form) copy the pairs.
 */
const orderedDict: Reducer<unknown> = {
  call(args, ctx) {
    if (!isCall(ctx)) return pyDict([], ctx.callable);
    const items = callArgs(args);
    if (items === undefined || items.length > 1) return undefined;
    const out = pyDict<unknown>([], ctx.callable);
    if (items.length === 0) return out;
    const source = items[0]!;
    const indexes: KeyIndexes = new WeakMap();
    if (tagOf(source) === "dict") {
      for (const [k, v] of (source as PyDict<unknown>).entries) out.entries.push([k, v]);
      return out;
    }
    const pairs = iterableItems(source);
    if (pairs === undefined) return undefined;
    for (const pair of pairs) {
      const kind = tagOf(pair);
      if (kind !== "list" && kind !== "tuple") return undefined;
      const kv = (pair as { items: PyValue<unknown>[] }).items;
      if (kv.length !== 2 || unhashableType(kv[0]!) !== undefined) return undefined;
      dictSetItem(indexes, out, kv[0]!, kv[1]!);
    }
    return out;
  },
};

/** `set(iterable)` → {@link PySet} with duplicates removed. */
const set: Reducer<unknown> = {
  call(args, ctx) {
    const items = isCall(ctx) ? callArgs(args) : undefined;
    if (items === undefined || items.length > 1) return undefined;
    if (items.length === 0) return pySet([]);
    const source = iterableItems(items[0]!);
    const members = source === undefined ? undefined : distinct(source);
    return members === undefined ? undefined : pySet(members);
  },
};

/** `frozenset(iterable)` → {@link PyFrozenSet} with duplicates removed. */
const frozenset: Reducer<unknown> = {
  call(args, ctx) {
    const items = isCall(ctx) ? callArgs(args) : undefined;
    if (items === undefined || items.length > 1) return undefined;
    if (items.length === 0) return pyFrozenSet([]);
    const source = iterableItems(items[0]!);
    const members = source === undefined ? undefined : distinct(source);
    return members === undefined ? undefined : pyFrozenSet(members);
  },
};

/**
 * `bytearray()`, `bytearray(bytes)` (protocols 3–4) and `bytearray(str, "latin-1")` (protocols
 * 0–2) → {@link PyByteArray}. The data is the argument's view when it was bytes (no copy).
 * `bytearray(n)` stays inert: it would allocate by an untrusted size.
 */
const bytearray: Reducer<unknown> = {
  call(args, ctx) {
    const items = isCall(ctx) ? callArgs(args) : undefined;
    const data = items === undefined ? undefined : bufferArgs(items);
    return data === undefined ? undefined : pyByteArray(data);
  },
};

/** `bytes()` (what protocols 0–2 write for `b""`), `bytes(b)`, `bytes(str, encoding)` → {@link PyBytes}. */
const bytes: Reducer<unknown> = {
  call(args, ctx) {
    const items = isCall(ctx) ? callArgs(args) : undefined;
    if (items === undefined) return undefined;
    if (items.length === 1 && tagOf(items[0]) === "bytes") return items[0]!; // bytes(b) is b
    const data = bufferArgs(items);
    return data === undefined ? undefined : pyBytes(data);
  },
};

/** `complex()`, `complex(re)`, `complex(re, im)` with int/bool/float parts → {@link PyComplex}. */
const complex: Reducer<unknown> = {
  call(args, ctx) {
    const items = isCall(ctx) ? callArgs(args) : undefined;
    if (items === undefined || items.length > 2) return undefined;
    const re = items.length > 0 ? toFloat(items[0]!) : 0;
    const im = items.length > 1 ? toFloat(items[1]!) : 0;
    return re === undefined || im === undefined ? undefined : pyComplex(re, im);
  },
};

/**
 * `_codecs.encode(str, encoding)`: how protocols 0–2 write non-empty bytes
 * (`_codecs.encode("\xff", "latin1")`) → {@link PyBytes}. Accepts the latin-1, ASCII and UTF-8
 * codec names (UTF-8 is the default when the encoding is omitted); anything else stays inert.
 */
const codecsEncode: Reducer<unknown> = {
  call(args, ctx) {
    const items = ctx.via === "reduce" ? callArgs(args) : undefined;
    if (items === undefined || items.length < 1 || items.length > 2) return undefined;
    const [text, encoding = "utf-8"] = items;
    if (typeof text !== "string" || typeof encoding !== "string") return undefined;
    const data = encodeText(text, encoding);
    return data === undefined ? undefined : pyBytes(data);
  },
};

/**
 * `copyreg._reconstructor(cls, object, None)`: how protocols 0–1 write an instance of a plain
 * class. It means `object.__new__(cls)`, exactly what protocol 2+ writes as `cls` `()` NEWOBJ, so
 * it decodes to the same inert object: `{ kind: "object", via: "newobj", callable: cls, args: () }`
 * (BUILD then sets its `state` as usual). Any other base class (`_reconstructor(cls, dict, state)`)
 * stays an inert REDUCE of `_reconstructor`.
 */
const reconstructor: Reducer<unknown> = {
  call(args, ctx) {
    const items = ctx.via === "reduce" ? callArgs(args) : undefined;
    if (items === undefined || items.length !== 3 || items[2] !== null) return undefined;
    const base = items[1];
    if (tagOf(base) !== "global") return undefined;
    const { module, name } = base as { module: string; name: string };
    if (name !== "object" || (module !== "builtins" && module !== "__builtin__")) return undefined;
    const out: PyObject<unknown> = { kind: "object", via: "newobj", callable: items[0]!, args: pyTuple([]) };
    return out;
  },
};

/** Registers a reducer under its Python 3 name and its Python 2 (`__builtin__`, `copy_reg`) name. */
function table(): Record<string, Reducer<unknown>> {
  const t: Record<string, Reducer<unknown>> = Object.create(null) as Record<string, Reducer<unknown>>;
  t["collections.OrderedDict"] = orderedDict;
  for (const mod of ["builtins", "__builtin__"]) {
    t[`${mod}.set`] = set;
    t[`${mod}.frozenset`] = frozenset;
    t[`${mod}.bytearray`] = bytearray;
    t[`${mod}.bytes`] = bytes;
    t[`${mod}.complex`] = complex;
  }
  t["_codecs.encode"] = codecsEncode;
  t["copyreg._reconstructor"] = reconstructor;
  t["copy_reg._reconstructor"] = reconstructor;
  return t;
}

/**
 * A fresh copy of the built-in reducers, typed for any host type `X` (they never produce host
 * values): `collections.OrderedDict`; `set`, `frozenset`, `bytearray`, `bytes` and `complex`
 * under `builtins.` and `__builtin__.`; `_codecs.encode`; and `copyreg._reconstructor` /
 * `copy_reg._reconstructor`. Spread it into your own registry to extend it:
 * `{ ...builtinReducers<MyHost>(), "torch._utils._rebuild_tensor_v2": ... }`.
 */
export function builtinReducers<X = never>(): ReducerRegistry<X> {
  return Object.freeze(table()) as ReducerRegistry<X>;
}

/** The built-in reducers (see {@link builtinReducers}); the decoder's default `reducers`. */
export const BUILTIN_REDUCERS: ReducerRegistry<never> = builtinReducers<never>();
