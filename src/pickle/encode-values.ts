/**
 * `save()`: writes one value, inline when it has no children, else by pushing a frame whose steps
 * the frame loop (`encode-frames.ts`) runs. Mirrors the dispatch of CPython's C pickler `save()`,
 * including how each type is spelled below the protocol that has a dedicated opcode for it.
 */
import { decodeLatin1 } from "../bytes/text.js";
import {
  Batch, callHook, emit, encodeError, get, memoize, OP, put, type EncodeState, type PathKey, type Step,
} from "./encode-state.js";
import { saveBool, saveFloat, saveGlobal, saveInt, saveStr, globalLine, writeByteArray, writeBytes } from "./encode-scalars.js";
import type { OpcodeInfo } from "./opcodes.js";
import { floatRepr } from "./py-float.js";
import {
  pyKind, type PyBuffer, type PyByteArray, type PyBytes, type PyComplex, type PyDict, type PyExtension, type PyFloat,
  type PyFrozenSet, type PyGlobal, type PyList, type PyObject, type PyPersistentId, type PySet, type PyTuple,
} from "./value.js";

/** Marks the containers and strings the encoder makes up itself (never shared with the caller's). */
const FRESH: unique symbol = Symbol("torchsave.fresh");

interface FreshStr {
  readonly [FRESH]: true;
  readonly text: string;
}

const freshStr = (text: string): FreshStr => ({ [FRESH]: true, text });
const freshTuple = (items: unknown[]): PyTuple<unknown> => ({ kind: "tuple", items, [FRESH]: true }) as PyTuple<unknown>;
const freshList = (items: readonly unknown[]): PyList<unknown> => ({ kind: "list", items: [...items], [FRESH]: true }) as PyList<unknown>;
const isFresh = (v: object): boolean => FRESH in v;

const global = (module: string, name: string): PyGlobal => ({ kind: "global", module, name });
const BUILTIN_BYTES = global("builtins", "bytes");
const BUILTIN_BYTEARRAY = global("builtins", "bytearray");
const BUILTIN_SET = global("builtins", "set");
const BUILTIN_FROZENSET = global("builtins", "frozenset");
const BUILTIN_COMPLEX = global("builtins", "complex");
const CODECS_ENCODE = global("_codecs", "encode");
const COPYREG_NEWOBJ = global("copyreg", "__newobj__");
const COPYREG_NEWOBJ_EX = global("copyreg", "__newobj_ex__");
/** `()`: never memoized (CPython's empty tuple is a singleton it does not memoize). */
const EMPTY_TUPLE: PyTuple<unknown> = Object.freeze({ kind: "tuple", items: [] }) as PyTuple<unknown>;

/**
 * Writes `v`. Returns true when it pushed a frame (the caller must let the frame loop finish it
 * before writing anything that follows), false when `v` is completely written.
 * `pers` false skips the `persistentId` hook (for a persistent id itself, as CPython does).
 */
export function save(st: EncodeState, v: unknown, key: PathKey | undefined, pers: boolean): boolean {
  st.out.boundary();
  st.curKey = key;
  if (pers && st.persistentId !== undefined) {
    // The hook sees the encoder's own latin-1 strings as the plain str they are.
    const seen = typeof v === "object" && v !== null && FRESH in v && !("kind" in v) ? (v as FreshStr).text : v;
    const pid = callHook(st, "persistentId", st.persistentId, seen);
    if (pid !== undefined && pid !== null) return savePersistentId(st, pid, undefined, key);
  }
  switch (typeof v) {
    case "boolean":
      saveBool(st, v);
      return false;
    case "number":
      if (!Number.isInteger(v)) {
        throw encodeError(st, "invalid-argument", `${v} is not an int (write a Python float as pyFloat(${v}))`);
      }
      saveInt(st, v);
      return false;
    case "bigint":
      saveInt(st, v);
      return false;
    case "string":
      saveStr(st, v, false);
      return false;
    case "object":
      if (v === null) {
        emit(st, OP.NONE);
        return false;
      }
      return saveObject(st, v, key);
    default:
      return saveHost(st, v, key);
  }
}

function saveObject(st: EncodeState, v: object, key: PathKey | undefined): boolean {
  const kind = pyKind(v);
  switch (kind) {
    case undefined:
      if (FRESH in v) {
        saveStr(st, (v as FreshStr).text, true);
        return false;
      }
      return saveHost(st, v, key);
    case "float":
      saveFloat(st, v as PyFloat);
      return false;
    case "global":
      saveGlobal(st, v as PyGlobal);
      return false;
    case "ext":
      saveExtension(st, v as PyExtension);
      return false;
    case "persid":
      // Never memoized: CPython memoizes the pid, not what persistent_load returns.
      return savePersistentId(st, (v as PyPersistentId<unknown>).pid, v as PyPersistentId<unknown>, key);
  }
  const idx = st.memo.get(v);
  if (idx !== undefined) {
    get(st, idx);
    return false;
  }
  switch (kind) {
    case "tuple":
      return saveTuple(st, v as PyTuple<unknown>, key);
    case "list":
      return saveList(st, v as PyList<unknown>, key);
    case "dict":
      return saveDict(st, v as PyDict<unknown>, key);
    case "set":
      return saveSet(st, v as PySet<unknown>, key);
    case "frozenset":
      return saveFrozenSet(st, v as PyFrozenSet<unknown>, key);
    case "bytes":
      return saveBytes(st, v as PyBytes, key);
    case "bytearray":
      return saveByteArray(st, v as PyByteArray, key);
    case "complex":
      return saveComplex(st, v as PyComplex, key);
    case "buffer":
      return saveBuffer(st, v as PyBuffer);
    case "object":
      return saveInertObject(st, v as PyObject<unknown>, key);
    default:
      throw encodeError(st, "invalid-argument", `unknown value kind ${JSON.stringify(kind)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Frames and their programs.

const field = (f: "a" | "b" | "c", pers = true): Step => ({ t: "field", field: f, pers });
const emitStep = (op: OpcodeInfo, arg?: unknown): Step => (arg === undefined ? { t: "emit", op } : { t: "emit", op, arg });
const seq = (items: readonly unknown[], batch: Batch, pairs: boolean, keyed: boolean): Step =>
  ({ t: "seq", items, batch, pairs, keyed });
const saveStep = (v: unknown): Step => ({ t: "save", v, key: undefined, pers: true });

const OWN_SEQ: Step = { t: "own-seq" };
const CLOSE_OBJECT: Step = { t: "close-object" };
const MARK = emitStep(OP.MARK);
const BUILD = emitStep(OP.BUILD);
const REDUCE = emitStep(OP.REDUCE);

// Shared programs: `a`, `b`, `c` and `items` live in the frame, so most frames need no program of their own.
const SEQ_OPS: readonly Step[] = [OWN_SEQ];
const SEQ_STATE_OPS: readonly Step[] = [OWN_SEQ, field("c"), BUILD];
const TUPLE_SHORT_OPS: readonly Step[] = [OWN_SEQ, { t: "close-tuple" }];
const TUPLE_MARK_OPS: readonly Step[] = [MARK, OWN_SEQ, { t: "close-tuple" }];
const FROZENSET_OPS: readonly Step[] = [MARK, OWN_SEQ, { t: "close-frozenset" }];
const REDUCE_OPS: readonly Step[] = [field("a"), field("b"), REDUCE, CLOSE_OBJECT];
const REDUCE_STATE_OPS: readonly Step[] = [...REDUCE_OPS, field("c"), BUILD];
const REDUCE_SEQ_OPS: readonly Step[] = [...REDUCE_OPS, OWN_SEQ];
const REDUCE_SEQ_STATE_OPS: readonly Step[] = [...REDUCE_OPS, OWN_SEQ, field("c"), BUILD];
const NEWOBJ_OPS: readonly Step[] = [field("a"), field("b"), emitStep(OP.NEWOBJ), CLOSE_OBJECT];
const NEWOBJ_STATE_OPS: readonly Step[] = [...NEWOBJ_OPS, field("c"), BUILD];
const PERSID_OPS: readonly Step[] = [field("a", false), emitStep(OP.BINPERSID)];

interface FrameInit {
  ops: readonly Step[];
  fresh?: boolean;
  a?: unknown;
  b?: unknown;
  c?: unknown;
  items?: readonly unknown[];
  batch?: Batch;
  pairs?: boolean;
  keyed?: boolean;
}

/** Pushes a frame for `v` (after checking a revisit of an unfinished value can terminate). */
function pushFrame(st: EncodeState, v: object | undefined, key: PathKey | undefined, init: FrameInit): true {
  if (st.frames.length >= st.maxDepth) {
    throw encodeError(st, "limit-exceeded", `value nested deeper than maxDepth (${st.maxDepth})`);
  }
  if (v !== undefined) {
    const count = st.active.get(v);
    if (count !== undefined) checkRevisit(st, v);
    st.active.set(v, (count ?? 0) + 1);
  }
  st.frames.push({
    v, key, fresh: init.fresh === true, ops: init.ops, a: init.a, b: init.b, c: init.c, items: init.items,
    batch: init.batch ?? Batch.Plain, pairs: init.pairs === true, keyed: init.keyed === true, pc: 0, i: 0, after: false,
  });
  st.curKey = undefined;
  return true;
}

/**
 * `v` is reached again while its first visit is unfinished (a tuple or object that contains itself
 * through other values). CPython writes it a second time, nested, and the outer visit then POPs its
 * work and GETs the memoized copy; that ends only if a container memoized before its contents (a
 * list, dict, set or already-built object) lies on the cycle. Otherwise Python itself would recurse
 * forever, so the value cannot be pickled.
 */
function checkRevisit(st: EncodeState, v: object): void {
  for (let j = st.frames.length - 1; j >= 0; j--) {
    const f = st.frames[j]!;
    if (f.v === v) break;
    if (f.v !== undefined && !f.fresh && st.memo.has(f.v)) return;
  }
  throw encodeError(
    st, "unencodable",
    "this value contains itself only through tuples, frozensets or objects' constructor arguments; pickle cannot express that cycle",
  );
}

function checkArray(st: EncodeState, items: unknown, what: string): readonly unknown[] {
  if (!Array.isArray(items)) throw encodeError(st, "invalid-argument", `${what} must be an array`);
  return items;
}

function checkData(st: EncodeState, data: unknown, what: string): Uint8Array {
  if (!(data instanceof Uint8Array)) throw encodeError(st, "invalid-argument", `${what} data must be a Uint8Array`);
  return data;
}

/** A `callable(*args)` REDUCE frame whose value is memoized after the call. */
function pushReduce(st: EncodeState, v: object, key: PathKey | undefined, callable: unknown, args: unknown): true {
  return pushFrame(st, v, key, { ops: REDUCE_OPS, a: callable, b: args });
}

/** The `(list(items),)` argument CPython builds for set and frozenset below protocol 4. */
const listArgs = (items: readonly unknown[]): PyTuple<unknown> => freshTuple([freshList(items)]);

// ---------------------------------------------------------------------------------------------
// Containers.

function saveTuple(st: EncodeState, t: PyTuple<unknown>, key: PathKey | undefined): boolean {
  const items = checkArray(st, t.items, "tuple items");
  const n = items.length;
  if (n === 0) {
    if (st.proto >= 1) emit(st, OP.EMPTY_TUPLE);
    else {
      emit(st, OP.MARK);
      emit(st, OP.TUPLE);
    }
    return false;
  }
  const fresh = isFresh(t);
  const ops = n <= 3 && st.proto >= 2 ? TUPLE_SHORT_OPS : TUPLE_MARK_OPS;
  return pushFrame(st, t, key, { ops, fresh, items, keyed: !fresh });
}

function saveList(st: EncodeState, l: PyList<unknown>, key: PathKey | undefined): boolean {
  const items = checkArray(st, l.items, "list items");
  if (st.proto >= 1) emit(st, OP.EMPTY_LIST);
  else {
    emit(st, OP.MARK);
    emit(st, OP.LIST);
  }
  const fresh = isFresh(l);
  memoizeValue(st, l, fresh);
  if (items.length === 0) return false;
  return pushFrame(st, l, key, { ops: SEQ_OPS, fresh, items, batch: st.proto >= 1 ? Batch.ExactList : Batch.EachItem, keyed: true });
}

function saveDict(st: EncodeState, d: PyDict<unknown>, key: PathKey | undefined): boolean {
  const entries = checkArray(st, d.entries, "dict entries");
  const state = d.state;
  if (d.type !== undefined) {
    // A dict subclass (OrderedDict): what its __reduce__ gives, `type(), None/state, None, iter(items)`.
    const ops = state === undefined ? REDUCE_SEQ_OPS : REDUCE_SEQ_STATE_OPS;
    const batch = st.proto >= 1 ? Batch.IterDict : Batch.EachItem;
    return pushFrame(st, d, key, { ops, a: d.type, b: EMPTY_TUPLE, c: state, items: entries, batch, pairs: true, keyed: true });
  }
  if (st.proto >= 1) emit(st, OP.EMPTY_DICT);
  else {
    emit(st, OP.MARK);
    emit(st, OP.DICT);
  }
  memoizeValue(st, d, false);
  if (entries.length === 0 && state === undefined) return false;
  const ops = state === undefined ? SEQ_OPS : SEQ_STATE_OPS;
  const batch = st.proto >= 1 ? Batch.ExactDict : Batch.EachItem;
  return pushFrame(st, d, key, { ops, c: state, items: entries, batch, pairs: true, keyed: true });
}

function saveSet(st: EncodeState, s: PySet<unknown>, key: PathKey | undefined): boolean {
  const items = checkArray(st, s.items, "set items");
  if (st.proto < 4) return pushReduce(st, s, key, BUILTIN_SET, listArgs(items));
  emit(st, OP.EMPTY_SET);
  memoizeValue(st, s, false);
  if (items.length === 0) return false;
  return pushFrame(st, s, key, { ops: SEQ_OPS, items, batch: Batch.ExactSet, keyed: true });
}

function saveFrozenSet(st: EncodeState, s: PyFrozenSet<unknown>, key: PathKey | undefined): boolean {
  const items = checkArray(st, s.items, "frozenset items");
  if (st.allowed !== undefined) {
    throw encodeError(st, "unencodable", "frozenset needs builtins.frozenset, which torch.load(weights_only=True) refuses");
  }
  if (st.proto < 4) return pushReduce(st, s, key, BUILTIN_FROZENSET, listArgs(items));
  return pushFrame(st, s, key, { ops: FROZENSET_OPS, items, keyed: true });
}

// ---------------------------------------------------------------------------------------------
// Bytes, bytearray, buffers, complex.

function saveBytes(st: EncodeState, b: PyBytes, key: PathKey | undefined): boolean {
  const data = checkData(st, b.data, "bytes");
  if (st.proto >= 3) {
    writeBytes(st, data);
    memoizeValue(st, b, false);
    return false;
  }
  // Protocol < 3 has no bytes opcode: `bytes()` for b'' (CPython), else `_codecs.encode(latin-1 text, "latin1")`.
  // weights_only accepts only the latter, so it is used for b'' there too.
  if (data.length === 0 && st.allowed === undefined) return pushReduce(st, b, key, BUILTIN_BYTES, EMPTY_TUPLE);
  return pushReduce(st, b, key, CODECS_ENCODE, freshTuple([freshStr(decodeLatin1(data)), "latin1"]));
}

function saveByteArray(st: EncodeState, b: PyByteArray, key: PathKey | undefined): boolean {
  const data = checkData(st, b.data, "bytearray");
  if (st.proto >= 5) {
    writeByteArray(st, data);
    memoizeValue(st, b, false);
    return false;
  }
  const args = data.length === 0 ? EMPTY_TUPLE : freshTuple([{ kind: "bytes", data }]);
  return pushReduce(st, b, key, BUILTIN_BYTEARRAY, args);
}

function saveBuffer(st: EncodeState, b: PyBuffer): boolean {
  const data = checkData(st, b.data, "buffer");
  if (st.proto < 5) throw encodeError(st, "unencodable", "an out-of-band buffer needs protocol 5");
  const outOfBand = st.bufferCallback !== undefined && callHook(st, "bufferCallback", st.bufferCallback, b) === true;
  if (outOfBand) {
    // Not memoized: each occurrence is another NEXT_BUFFER, as in CPython.
    emit(st, OP.NEXT_BUFFER);
    if (b.readonly) emit(st, OP.READONLY_BUFFER);
    return false;
  }
  if (b.readonly) writeBytes(st, data);
  else writeByteArray(st, data);
  memoizeValue(st, b, false);
  return false;
}

function saveComplex(st: EncodeState, c: PyComplex, key: PathKey | undefined): boolean {
  if (typeof c.real !== "number" || typeof c.imag !== "number") {
    throw encodeError(st, "invalid-argument", "a complex's real and imag must be numbers");
  }
  const re: PyFloat = { kind: "float", value: c.real };
  const im: PyFloat = { kind: "float", value: c.imag };
  return pushReduce(st, c, key, BUILTIN_COMPLEX, freshTuple([re, im]));
}

// ---------------------------------------------------------------------------------------------
// Inert objects, persistent ids, extensions, host values.

function saveInertObject(st: EncodeState, o: PyObject<unknown>, key: PathKey | undefined): boolean {
  const { callable, args, state } = o;
  const plain = o.listItems === undefined && o.dictItems === undefined && o.setItems === undefined;
  if (plain && (o.via === "reduce" || (o.via === "newobj" && st.proto >= 2))) {
    // The common shapes (every torch tensor) run a shared program.
    const ops = o.via === "reduce" ? (state === undefined ? REDUCE_OPS : REDUCE_STATE_OPS) : state === undefined ? NEWOBJ_OPS : NEWOBJ_STATE_OPS;
    return pushFrame(st, o, key, { ops, a: callable, b: args, c: state });
  }
  const ops: Step[] = [...objectHead(st, o), CLOSE_OBJECT];
  if (o.listItems !== undefined) {
    ops.push(seq(checkArray(st, o.listItems, "listItems"), st.proto >= 1 ? Batch.IterList : Batch.EachItem, false, true));
  }
  if (o.dictItems !== undefined) {
    ops.push(seq(checkArray(st, o.dictItems, "dictItems"), st.proto >= 1 ? Batch.IterDict : Batch.EachItem, true, true));
  }
  if (o.setItems !== undefined) {
    const items = checkArray(st, o.setItems, "setItems");
    if (items.length > 0 && st.proto < 4) throw encodeError(st, "unencodable", "an object's set items (ADDITEMS) need protocol 4");
    if (items.length > 0) ops.push(seq(items, Batch.IterSet, false, true));
  }
  if (state !== undefined) ops.push(saveStep(state), BUILD);
  return pushFrame(st, o, key, { ops });
}

/** The steps that create the object, by how it was built (`via`). */
function objectHead(st: EncodeState, o: PyObject<unknown>): Step[] {
  const { callable, args } = o;
  switch (o.via) {
    case "reduce":
      return [saveStep(callable), saveStep(args), REDUCE];
    case "newobj":
      if (st.proto >= 2) return [saveStep(callable), saveStep(args), emitStep(OP.NEWOBJ)];
      // What pickle writes for a `copyreg.__newobj__` reduction below protocol 2.
      return [saveStep(COPYREG_NEWOBJ), saveStep(freshTuple([callable, ...tupleItems(st, args, "NEWOBJ args")])), REDUCE];
    case "newobj_ex": {
      if (st.allowed !== undefined) throw encodeError(st, "unencodable", "NEWOBJ_EX has no weights_only form");
      const kwargs = o.kwargs ?? { kind: "dict", entries: [] };
      if (st.proto >= 4) return [saveStep(callable), saveStep(args), saveStep(kwargs), emitStep(OP.NEWOBJ_EX)];
      // Below 4: `copyreg.__newobj_ex__(cls, args, kwargs)`, which does the same call.
      return [saveStep(COPYREG_NEWOBJ_EX), saveStep(freshTuple([callable, args, kwargs])), REDUCE];
    }
    case "obj":
      if (st.proto >= 1) {
        return [MARK, saveStep(callable), seq(tupleItems(st, args, "OBJ args"), Batch.Plain, false, true), emitStep(OP.OBJ)];
      }
      return instHead(st, callable, args); // OBJ is protocol 1; INST does the same at 0.
    case "inst":
      return instHead(st, callable, args);
    default:
      throw encodeError(st, "invalid-argument", `unknown object construction ${JSON.stringify(o.via)}`);
  }
}

function instHead(st: EncodeState, callable: unknown, args: unknown): Step[] {
  if (pyKind(callable) !== "global") throw encodeError(st, "unencodable", "INST needs a global as its class");
  const g = callable as PyGlobal;
  if (typeof g.module !== "string" || typeof g.name !== "string") {
    throw encodeError(st, "invalid-argument", "a global's module and name must be strings");
  }
  const items = tupleItems(st, args, "INST args");
  return [MARK, seq(items, Batch.Plain, false, true), emitStep(OP.INST, globalLine(st, g.module, g.name))];
}

function tupleItems(st: EncodeState, args: unknown, what: string): readonly unknown[] {
  if (pyKind(args) !== "tuple") throw encodeError(st, "unencodable", `${what} must be a tuple here`);
  return checkArray(st, (args as PyTuple<unknown>).items, what);
}

/**
 * A persistent id: BINPERSID after the pid (protocol 1+), or the text PERSID for protocol 0 and for
 * ids read from PERSID (`binary: false`). `p` is the PyPersistentId being written, if any.
 */
function savePersistentId(st: EncodeState, pid: unknown, p: PyPersistentId<unknown> | undefined, key: PathKey | undefined): boolean {
  const text = st.proto === 0 || (p !== undefined && p.binary === false && st.allowed === undefined);
  if (text) {
    if (typeof pid !== "string" || pid.includes("\n") || /[^\x00-\x7f]/.test(pid)) {
      throw encodeError(st, "unencodable", "a text (PERSID) persistent id must be an ASCII str without newlines");
    }
    emit(st, OP.PERSID, pid);
    return false;
  }
  return pushFrame(st, p, key, { ops: PERSID_OPS, a: pid });
}

function saveExtension(st: EncodeState, x: PyExtension): void {
  const code = x.code;
  if (st.proto < 2) throw encodeError(st, "unencodable", "extension codes (EXT1/2/4) need protocol 2");
  if (!Number.isInteger(code) || code < 1 || code > 0x7fffffff) {
    throw encodeError(st, "invalid-argument", `extension code ${code} is not in 1..2^31-1`);
  }
  emit(st, code <= 0xff ? OP.EXT1 : code <= 0xffff ? OP.EXT2 : OP.EXT4, code);
}

const isHost = (v: unknown): boolean =>
  typeof v === "undefined" || typeof v === "function" || typeof v === "symbol" ||
  (typeof v === "object" && v !== null && pyKind(v) === undefined && !(FRESH in v));

/** A value outside the value model: replaced by what `reduceHost` returns (once per host value). */
function saveHost(st: EncodeState, v: unknown, key: PathKey | undefined): boolean {
  if (st.writeHost !== undefined && typeof v === "object" && v !== null && st.writeHost(v, st.host!)) return false; // written directly
  const reduceHost = st.reduceHost; // below: undefined and symbols are mistakes, never host values worth handing to the hook
  if (reduceHost === undefined || v === undefined || typeof v === "symbol") throw encodeError(st, "unencodable", describeHost(v));
  let current = v;
  for (let hops = 0; hops < 100; hops++) {
    const cacheable = (typeof current === "object" && current !== null) || typeof current === "function";
    let replacement = cacheable ? st.hostCache.get(current as object) : undefined;
    if (replacement === undefined) {
      replacement = callHook(st, "reduceHost", reduceHost, current);
      if (replacement === undefined) throw encodeError(st, "unencodable", "reduceHost returned undefined");
      if (cacheable) st.hostCache.set(current as object, replacement);
    }
    if (!isHost(replacement)) return save(st, replacement, key, false);
    current = replacement;
  }
  throw encodeError(st, "unencodable", "reduceHost keeps returning values it must itself reduce");
}

function describeHost(v: unknown): string {
  const tail = "and no reduceHost option was given";
  if (v === undefined) return "undefined is not a pickle value (None is null)";
  if (Array.isArray(v)) return "a JS array is not a pickle value: wrap it with pyList() or pyTuple()";
  if (v instanceof Uint8Array) return "a Uint8Array is not a pickle value: wrap it with pyBytes()";
  if (v instanceof Map) return "a Map is not a pickle value: convert it with pyDictFrom()";
  if (typeof v === "object" && v !== null) {
    const kind = (v as { kind?: unknown }).kind;
    if (typeof kind === "string") return `unknown value kind ${JSON.stringify(kind)} ${tail}`;
    if (Object.getPrototypeOf(v) === Object.prototype) return "a plain JS object is not a pickle value: use pyDict() or pyDictFrom()";
  }
  return `a ${typeof v} is not a pickle value ${tail}`;
}

/** Memoizes a value; the encoder's own fresh containers take a memo slot but are never looked up. */
export function memoizeValue(st: EncodeState, v: object, fresh: boolean): void {
  if (fresh) put(st);
  else memoize(st, v);
}

/** A dict key or item as an error path element. */
export function pathKeyOf(k: unknown): PathKey {
  if (typeof k === "string" || typeof k === "number") return k;
  if (typeof k === "bigint") return Number.isSafeInteger(Number(k)) ? Number(k) : String(k);
  if (typeof k === "boolean") return k ? "True" : "False";
  if (k === null) return "None";
  const kind = pyKind(k);
  if (kind === "float") return floatRepr((k as PyFloat).value);
  return `<${kind ?? typeof k}>`;
}
